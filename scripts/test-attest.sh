#!/usr/bin/env bash
# Device key attestation on data nobody here made (SPEC.md §4.10.7): the real Apple App
# Attest attestations that the npm package node-app-attest (MIT) ships as test fixtures,
# fetched with npm into a temporary directory, pinned by SHA-256, and checked by
# attest/tests/apple_app_attest.rs. The synthetic vectors (test-vectors/attestation.json)
# run in the ordinary `cargo test`. Needs npm (the WASM tests need it too).
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.0.1
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$dir" && npm pack --silent "node-app-attest@$version" >/dev/null && tar xzf "node-app-attest-$version.tgz")
fixtures="$dir/package/test/fixtures"
(cd "$fixtures" && sha256sum --check --quiet) <<'SUMS'
77950c2323211d3518b32fd5ed1f3bf88b62df6a24e06ba11626e11341fd8fac  attestation-development.json
ee3fc12282522ac8531ab234e7a9465a0d74f23c6d3ae83c2225cf9642dbab35  attestation-production.json
SUMS
CITYCODE_APP_ATTEST_FIXTURES="$fixtures" cargo test --locked -p citycode-attest --test apple_app_attest -- --ignored
