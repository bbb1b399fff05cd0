#!/usr/bin/env bash
# citycode beside its peers (PASETO, JWT, SD-JWT, EU DCC) in one run, with the WASM
# scanner's figure when its package is built (bash scripts/test-wasm.sh builds it).
# The only command that compiles the peers. Prints the tables for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ -f target/wasm-pkg/verifier/citycode_wasm_bg.wasm ]; then
  node wasm/bench/verify.mjs 1000 --json target/wasm-bench.json >&2
  args=(--wasm target/wasm-bench.json)
else
  echo "(no WASM package in target/wasm-pkg: run bash scripts/test-wasm.sh for the WASM row)" >&2
fi
cargo run --quiet --release --locked -p citycode-compare -- "${args[@]}" "$@"
