#!/usr/bin/env python3
"""Dependency policy for everything citycode ships (cargo-deny style, from Cargo.lock).

Checks the crates reachable from the shipped workspace members through normal and
build dependencies (the benchmark-only citycode-compare and dev-dependencies aside):

- licenses: every crate's SPDX expression must be satisfiable from ALLOWED;
- sources: crates.io or this workspace, nothing else (no git, no other registry);
- bans: no OpenSSL; one version only of each cryptographic crate;
- yanked: no locked version is yanked on crates.io (sparse index). The RustSec
  advisory database lives on GitHub, which this build environment cannot reach, so
  advisories are not checked here; run `cargo audit` where GitHub is reachable.

Usage: python3 scripts/check-deps.py [--offline]   (exit 1 on any violation)
"""

import json
import re
import subprocess
import sys
import urllib.request
from collections import defaultdict

SHIPPED = {"citycode", "citycode-attest", "citycode-ffi", "citycode-wasm", "citycode-cli", "citycode-verify-server", "citycode-issuer"}
ALLOWED = {
    "MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause",
    "ISC", "Zlib", "Unicode-3.0", "Unlicense", "0BSD", "BSL-1.0", "CC0-1.0",
    # File-level copyleft: fine to link; changes to those files would be published.
    "MPL-2.0",
}
BANNED = {"openssl", "openssl-sys", "native-tls"}
# Two copies of a signature or hash implementation would be two things to audit and
# patch. (getrandom is not listed: ring pins 0.2 and uniffi's tempfile 0.4, while
# citycode draws its batch randomness from 0.3; all three call the same OS source.)
ONE_VERSION = {"ring", "curve25519-dalek", "ed25519-dalek", "p256", "sm2", "sha2", "sm3", "zeroize"}
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def satisfiable(expr: str) -> bool:
    """Whether an SPDX expression (AND/OR/WITH, parentheses, legacy '/') can be met
    using only ALLOWED licenses."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr.replace("/", " OR "))
    pos = 0

    def chain(op, operand, combine):
        """operand (op operand)*, every operand parsed (consumed) before combining."""
        nonlocal pos
        ok = operand()
        while pos < len(tokens) and tokens[pos] == op:
            pos += 1
            ok = combine(operand(), ok)
        return ok

    def parse_or():
        return chain("OR", parse_and, lambda a, b: a or b)

    def parse_and():
        return chain("AND", parse_atom, lambda a, b: a and b)

    def parse_atom():
        nonlocal pos
        if pos >= len(tokens):
            return False
        if tokens[pos] == "(":
            pos += 1
            ok = parse_or()
            pos += 1  # ")"
            return ok
        name = tokens[pos]
        pos += 1
        if pos < len(tokens) and tokens[pos] == "WITH":
            name = f"{name} WITH {tokens[pos + 1]}"
            pos += 2
            return name in ALLOWED or name.split(" WITH ")[0] in ALLOWED
        return name in ALLOWED

    result = parse_or()
    return result and pos == len(tokens)


def shipped_closure(meta):
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    packages = {p["id"]: p for p in meta["packages"]}
    roots = [p["id"] for p in meta["packages"] if p["name"] in SHIPPED and p["source"] is None]
    seen, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds & {None, "build"}:
                stack.append(dep["pkg"])
    return [packages[i] for i in sorted(seen)], roots


def yanked(name: str, version: str):
    n = name.lower()
    prefix = {1: "1", 2: "2", 3: f"3/{n[0]}"}.get(len(n), f"{n[0:2]}/{n[2:4]}")
    url = f"https://index.crates.io/{prefix}/{n}"
    with urllib.request.urlopen(url, timeout=20) as r:
        for line in r.read().decode().splitlines():
            entry = json.loads(line)
            if entry["vers"] == version:
                return entry.get("yanked", False)
    return None


def self_test():
    """The license evaluator on known answers (fails loudly if it drifts)."""
    cases = {
        "MIT OR Apache-2.0": True, "MIT/Apache-2.0": True, "GPL-3.0-only": False,
        "GPL-2.0 OR MIT": True, "MIT AND GPL-2.0": False, "LGPL-2.1-or-later": False,
        "(MIT OR Apache-2.0) AND Unicode-3.0": True, "(MIT OR GPL-3.0) AND AGPL-3.0": False,
        "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT": True,
    }
    for expr, want in cases.items():
        assert satisfiable(expr) == want, f"license evaluator wrong on {expr!r}"


def main() -> int:
    self_test()
    offline = "--offline" in sys.argv
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--locked", "--format-version", "1"], text=True))
    crates, roots = shipped_closure(meta)
    if len(roots) != len(SHIPPED):
        print(f"expected {len(SHIPPED)} shipped members, found {len(roots)}")
        return 1
    problems = []
    versions = defaultdict(set)
    for p in crates:
        name, version, source = p["name"], p["version"], p["source"]
        versions[name].add(version)
        if source not in (None, CRATES_IO):
            problems.append(f"{name} {version}: source {source} is not crates.io")
        if not p.get("license") or not satisfiable(p["license"]):
            problems.append(f"{name} {version}: license {p.get('license')!r} not allowed")
        if name in BANNED:
            problems.append(f"{name} {version}: banned")
    for name in ONE_VERSION:
        if len(versions.get(name, ())) > 1:
            problems.append(f"{name}: several versions {sorted(versions[name])}")
    checked_yanked = 0
    if not offline:
        for p in crates:
            if p["source"] == CRATES_IO:
                try:
                    y = yanked(p["name"], p["version"])
                except OSError as e:
                    problems.append(f"crates.io index unreachable ({e}); rerun with --offline to skip")
                    break
                checked_yanked += 1
                if y:
                    problems.append(f"{p['name']} {p['version']}: yanked on crates.io")
    third_party = sum(1 for p in crates if p["source"] is not None)
    print(f"{third_party} third-party crates shipped; licenses, sources, bans checked; "
          f"{checked_yanked} checked against crates.io for yanks")
    for problem in problems:
        print("  FAIL", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
