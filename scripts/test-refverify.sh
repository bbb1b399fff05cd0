#!/usr/bin/env bash
# The reference verifier (tools/refverify: a second verifier in pure Python, written from
# SPEC.md alone) against every vector file; fails on any disagreement. Needs Python 3.10+
# and nothing else. The MUST table (every rule bent in turn) is not run here: see
# TESTING.md, "Mutants of a stranger's verifier".
set -euo pipefail
cd "$(dirname "$0")/../tools/refverify"
echo "== Reference verifier (tools/refverify): unit tests, then every vector file"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "tools/refverify needs Python 3.10 or later")'
python3 -m unittest discover -s tests -q
python3 -m refverify
