#!/usr/bin/env python3
"""Architecture figures for core (ARCHITECTURE.md quotes them): the `crate::` module
graph and its cycles, the largest files and the longest functions.

    python3 scripts/arch-metrics.py [core/src]

Test modules (`#[cfg(test)] mod tests`) are left out of the graph, as in
core/tests/architecture.rs, which fails on a cycle.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "core", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts[0] if parts else "lib"


def non_test(text):
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    text = text[: cut.start()] if cut else text
    # Comments (doc links name modules without depending on them).
    return "\n".join(line.split("//", 1)[0] for line in text.split("\n"))


files = []
for d, _, names in os.walk(ROOT):
    for n in names:
        if n.endswith(".rs"):
            files.append(os.path.join(d, n))

graph = {}
for f in files:
    text = non_test(open(f, encoding="utf-8").read())
    m = module_of(f)
    deps = graph.setdefault(m, set())
    # `use crate::a::..`, `crate::a::f(..)` and `use crate::{a::.., b}`.
    for dep in re.findall(r"\bcrate::([a-z_0-9]+)", text):
        deps.add(dep)
    for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
        for dep in re.findall(r"(?:^|,)\s*([a-z_0-9]+)", group):
            deps.add(dep)
mods = set(graph)
for m in graph:
    graph[m] = {d for d in graph[m] if d in mods and d != m}

# Strongly connected components (Tarjan).
index, low, stack, on, sccs = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in sorted(graph[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for v in sorted(graph):
    if v not in index:
        visit(v)
print(f"modules: {len(graph)}, import edges: {sum(len(d) for d in graph.values())}")
print(f"import cycles (strongly connected groups): {len(sccs)}")
for c in sccs:
    print("  " + " <-> ".join(c))

sizes = sorted(((sum(1 for _ in open(f, encoding="utf-8")), os.path.relpath(f, ROOT)) for f in files), reverse=True)
print("largest files (lines):")
for n, f in sizes[:6]:
    print(f"  {n:5} {f}")

fns = []
for f in files:
    lines = open(f, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(async )?fn ([a-z_0-9]+)", lines[i])
        if m and not lines[i].rstrip().endswith(";"):
            indent = m.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].startswith(indent + "}"):
                j += 1
            fns.append((j - i + 1, f"{os.path.relpath(f, ROOT)}:{m.group(6)}"))
            i += 1
            continue
        i += 1
fns.sort(reverse=True)
print("longest functions (lines):")
for n, f in fns[:6]:
    print(f"  {n:5} {f}")
