#!/usr/bin/env bash
# Python binding tests: every vector, a full flow, typed errors, no panics.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install --quiet pytest
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography
dir=target/bindings-python
rm -rf "$dir" && mkdir -p "$dir"
cp bindings/generated/python/citycode_ffi.py target/debug/libcitycode_ffi.so "$dir/"
export CITYCODE_PY_DIR="$PWD/$dir"
PYTHONPATH="$CITYCODE_PY_DIR" python3 examples/python/holder.py
PYTHONPATH="$CITYCODE_PY_DIR" python3 examples/python/verifier.py
python3 -m pytest -q -p no:cacheprovider bindings/tests/python
