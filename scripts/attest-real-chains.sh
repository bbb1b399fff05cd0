#!/usr/bin/env bash
# Runs the Android attestation verifier over a directory of real attestation chains laid
# out as the android/keyattestation repository's testdata/ (NAME.pem chains, NAME.json
# parsed contents). That data is not in this repository and this is not part of the test
# command: see SPEC.md §4.10.7 for what it proves and what the committed tests prove.
# Usage: bash scripts/attest-real-chains.sh path/to/testdata
set -euo pipefail
cd "$(dirname "$0")/.."
test -d "${1:-}" || { echo "usage: $0 <testdata directory>" >&2; exit 2; }
cargo run --quiet --locked -p citycode-attest --example check_android_chains -- "$1"
