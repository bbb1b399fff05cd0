#!/usr/bin/env bash
# Python binding tests, against the package as users install it: a wheel built by
# maturin from bindings/pyproject.toml, installed into a fresh virtual environment
# (with the system's pytest and cryptography visible, nothing of the source tree).
# Every vector, a full flow, typed errors, no panics.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install --quiet pytest
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography
python3 -m maturin --version >/dev/null 2>&1 || python3 -m pip install --quiet "maturin>=1.9,<2"
# The issuing service binary, which test_issuer_service.py runs on loopback.
cargo build --quiet --locked -p citycode-issuer
rm -rf target/wheels
# A debug build shares the workspace's target dir with every other step.
(cd bindings && python3 -m maturin build --quiet --locked --profile dev --out ../target/wheels)
venv=target/python-venv
rm -rf "$venv"
python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --no-deps --no-index target/wheels/citycode-*.whl
# Run from outside the source tree so that nothing but the installed package imports.
cd "$venv"
bin/python ../../examples/python/holder.py
bin/python ../../examples/python/verifier.py
bin/python -m pytest -q -p no:cacheprovider --rootdir=. ../../bindings/tests/python
