#!/usr/bin/env python3
"""The public API of core, one line per item and path, from rustdoc's JSON.

    python3 scripts/public-api.py            # print the listing (and a count on stderr)
    python3 scripts/public-api.py --check    # fail if core/public-api.txt differs
    python3 scripts/public-api.py --write    # regenerate core/public-api.txt

Runs `cargo +nightly rustdoc -p citycode --lib -- -Z unstable-options --output-format
json` (default features) and walks the crate from its root: every module, re-export,
type, field, variant, function (with its signature), constant, trait and trait method,
and each inherent method and hand-written trait impl of a public type. An item reachable
by two paths is listed under both, so a second path shows. CI runs `--check`: the
surface changes only when this file changes with it, in the same commit. The listing's
first line names the rustdoc JSON format it was made from; a nightly that writes another
format cannot be compared, and --check says so instead of failing.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LISTING = os.path.join(ROOT, "core", "public-api.txt")


def rustdoc_json():
    env = dict(os.environ, RUSTDOCFLAGS="")
    subprocess.run(
        ["cargo", "+nightly", "rustdoc", "-q", "-p", "citycode", "--lib", "--", "-Z", "unstable-options",
         "--output-format", "json"],
        cwd=ROOT, check=True, env=env)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    with open(os.path.join(target, "doc", "citycode.json"), encoding="utf-8") as f:
        return json.load(f)


def render(t):
    """A type as Rust spells it (paths by their last segment)."""
    if t is None:
        return "()"
    (kind, v), = t.items()
    if kind == "resolved_path":
        args = v.get("args") or {}
        inner = ""
        if "angle_bracketed" in args:
            parts = []
            for a in args["angle_bracketed"]["args"]:
                (ak, av), = a.items()
                parts.append(render(av) if ak == "type" else (av if ak == "lifetime" else str(av)))
            for c in args["angle_bracketed"].get("constraints", []):
                binding = c.get("binding", {})
                if "equality" in binding and "type" in binding["equality"]:
                    parts.append(f"{c['name']} = {render(binding['equality']['type'])}")
            inner = "<" + ", ".join(parts) + ">" if parts else ""
        elif "parenthesized" in args:
            p = args["parenthesized"]
            inner = "(" + ", ".join(render(x) for x in p["inputs"]) + ")"
            if p.get("output"):
                inner += " -> " + render(p["output"])
        return v["path"].split("::")[-1] + inner
    if kind == "primitive":
        return v
    if kind == "generic":
        return v
    if kind == "tuple":
        return "(" + ", ".join(render(x) for x in v) + ")"
    if kind == "slice":
        return "[" + render(v) + "]"
    if kind == "array":
        return "[" + render(v["type"]) + "; " + v["len"] + "]"
    if kind == "borrowed_ref":
        life = v["lifetime"] + " " if v.get("lifetime") else ""
        return "&" + life + ("mut " if v["is_mutable"] else "") + render(v["type"])
    if kind == "raw_pointer":
        return ("*mut " if v["is_mutable"] else "*const ") + render(v["type"])
    if kind in ("impl_trait", "dyn_trait"):
        bounds = v if kind == "impl_trait" else v["traits"]
        names = []
        for b in bounds:
            tb = b.get("trait_bound") if "trait_bound" in b else b
            if tb and "trait" in tb:
                names.append(render({"resolved_path": tb["trait"]}))
        return ("impl " if kind == "impl_trait" else "dyn ") + " + ".join(names)
    if kind == "qualified_path":
        return render(v["self_type"]) + "::" + v["name"]
    if kind == "function_pointer":
        return "fn(..)"
    return kind


def signature(item):
    f = item["inner"]["function"]
    args = []
    for name, t in f["sig"]["inputs"]:
        if name == "self":
            args.append(render(t).replace("Self", "self") if t != {"generic": "Self"} else "self")
        else:
            args.append(f"{name}: {render(t)}")
    out = f["sig"]["output"]
    const = "const " if f["header"]["is_const"] else ""
    return f"{const}fn {item['name']}({', '.join(args)})" + (f" -> {render(out)}" if out else "")


def listing(doc):
    index = doc["index"]
    lines = set()
    ids = set()

    def get(i):
        return index.get(str(i))

    def walk(item, path):
        if item is None or item.get("crate_id") != 0:
            return
        (kind, inner), = item["inner"].items()
        name = path
        ids.add(item["id"])
        if kind == "module":
            lines.add(f"mod {name}")
            for child in inner["items"]:
                c = get(child)
                if c is None:
                    continue
                if "use" in c["inner"]:
                    u = c["inner"]["use"]
                    target = get(u["id"]) if u["id"] is not None else None
                    if u["is_glob"]:
                        if target and "module" in target["inner"]:
                            for g in target["inner"]["module"]["items"]:
                                gi = get(g)
                                if gi and gi.get("name"):
                                    walk(gi, f"{name}::{gi['name']}")
                        continue
                    if target is not None:
                        walk(target, f"{name}::{u['name']}")
                    else:
                        lines.add(f"use {name}::{u['name']} = {u['source']}")
                elif c.get("name"):
                    walk(c, f"{name}::{c['name']}")
        elif kind == "function":
            sig = signature(item)
            const = "const " if sig.startswith("const ") else ""
            lines.add(f"{const}fn {name.rsplit('::', 1)[0]}::{sig[len(const) + 3:]}")
        elif kind == "constant":
            lines.add(f"const {name}: {render(inner['type'])}")
        elif kind == "static":
            lines.add(f"static {name}: {render(inner['type'])}")
        elif kind == "type_alias":
            lines.add(f"type {name} = {render(inner['type'])}")
        elif kind == "trait":
            lines.add(f"trait {name}")
            for m in inner["items"]:
                mi = get(m)
                if mi:
                    walk_assoc(mi, name)
        elif kind in ("struct", "enum", "union"):
            lines.add(f"{kind} {name}")
            if kind == "struct":
                k = inner["kind"]
                fields = k.get("plain", {}).get("fields", []) if isinstance(k, dict) else []
                if isinstance(k, dict) and "tuple" in k:
                    fields = [x for x in k["tuple"] if x is not None]
                for fid in fields:
                    fi = get(fid)
                    if fi and "struct_field" in fi["inner"]:
                        lines.add(f"field {name}::{fi['name']}: {render(fi['inner']['struct_field'])}")
            if kind == "enum":
                for vid in inner["variants"]:
                    vi = get(vid)
                    if vi:
                        lines.add(f"variant {name}::{vi['name']}")
            for impl_id in inner.get("impls", []):
                impl = get(impl_id)
                if impl is None:
                    continue
                im = impl["inner"]["impl"]
                if im["is_synthetic"] or im["blanket_impl"] is not None:
                    continue
                if im["trait"] is None:
                    for m in im["items"]:
                        mi = get(m)
                        if mi and mi.get("visibility") == "public":
                            walk_assoc(mi, name)
                else:
                    lines.add(f"impl {render({'resolved_path': im['trait']})} for {name}")

    def walk_assoc(mi, owner):
        ids.add(mi["id"])
        (k, inner), = mi["inner"].items()
        if k == "function":
            sig = signature(mi)
            const = "const " if sig.startswith("const ") else ""
            lines.add(f"{const}fn {owner}::{sig[len(const) + 3:]}")
        elif k == "assoc_const":
            lines.add(f"const {owner}::{mi['name']}: {render(inner['type'])}")
        elif k == "assoc_type":
            lines.add(f"type {owner}::{mi['name']}")

    walk(get(doc["root"]), "citycode")
    return sorted(lines), ids


def main():
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], encoding="utf-8") as f:
            doc = json.load(f)
    else:
        doc = rustdoc_json()
    # The listing's first line names the rustdoc JSON format it was made from. Another
    # nightly may write another format (field names, rendering): then the two cannot be
    # compared, and --check says so and steps aside instead of failing on a toolchain.
    header = f"# rustdoc JSON format {doc.get('format_version')}\n"
    if "--check" in sys.argv:
        with open(LISTING, encoding="utf-8") as f:
            made_with = f.readline()
        if made_with != header:
            print(f"public API not compared: core/public-api.txt was made from {made_with.strip('# ').strip()}, "
                  f"this nightly writes {header.strip('# ').strip()}; run `python3 scripts/public-api.py --write` "
                  "with the new nightly and commit the listing", file=sys.stderr)
            return
    lines, ids = listing(doc)
    text = header + "".join(line + "\n" for line in lines)
    modules = sum(1 for line in lines if line.startswith("mod "))
    root_exports = sum(1 for i in doc["index"][str(doc["root"])]["inner"]["module"]["items"]
                       if "use" in doc["index"][str(i)]["inner"])
    summary = f"{len(lines)} public paths, {len(ids)} distinct items, {modules} public modules, {root_exports} root re-exports"
    if "--check" in sys.argv:
        with open(LISTING, encoding="utf-8") as f:
            committed = f.read()
        if committed != text:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), text.splitlines(True),
                                                       "core/public-api.txt (committed)", "core/public-api.txt (built)"))
            print("core's public API changed: run `python3 scripts/public-api.py --write` and commit the listing",
                  file=sys.stderr)
            sys.exit(1)
        print(f"public API unchanged ({summary})", file=sys.stderr)
    elif "--write" in sys.argv:
        with open(LISTING, "w", encoding="utf-8") as f:
            f.write(text)
        print(summary, file=sys.stderr)
    else:
        sys.stdout.write(text)
        print(summary, file=sys.stderr)


if __name__ == "__main__":
    main()
