#!/usr/bin/env bash
# Builds the cdylib and regenerates the Kotlin, Swift and Python bindings into
# bindings/generated/ with the in-repo uniffi-bindgen (pinned to the crate version).
set -euo pipefail
cd "$(dirname "$0")/.."
# The library the tests load, and the generator (its own package, which maturin also
# runs to build the Python wheel).
cargo build --locked -p citycode-ffi -p uniffi-bindgen
lib=target/debug/libcitycode_ffi.so
for lang in python kotlin swift; do
  rm -rf "bindings/generated/$lang"
  ./target/debug/uniffi-bindgen generate --no-format --library "$lib" --language "$lang" \
    --out-dir "bindings/generated/$lang" >/dev/null
done
