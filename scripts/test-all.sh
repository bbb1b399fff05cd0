#!/usr/bin/env bash
# Installs what the tests need and runs them all. Idempotent: tools already present
# at the right version are not reinstalled. One target dir for every step.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

echo "== Rust: format, lint, then build and test every crate"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --check
# citycode-compare (the peer benchmark) is left out: the test run never builds the peers.
cargo clippy --workspace --exclude citycode-compare --all-targets --locked -- -D warnings
# Core's public surface changes only on purpose: rustdoc JSON (nightly) against the
# committed core/public-api.txt (python3 scripts/public-api.py --write after a change).
rustup toolchain list | grep -q '^nightly' || rustup toolchain install --profile minimal nightly
python3 scripts/public-api.py --check
# The verify server's tests and core's Redis store tests (every topology) start real
# redis-server processes on loopback: redis-server 7 or later, installed here.
bash scripts/test-redis.sh --install-only
# The printed card's PDF, rendered and read back by poppler (installs it and the fonts
# first, which the workspace tests below use too).
bash scripts/test-print.sh
# Token keys need SoftHSM2, installed here; the workspace tests below run them.
bash scripts/test-pkcs11.sh --install-only
cargo test --workspace --exclude citycode-compare --exclude citycode-issuer --locked
# The issuing service against SQLite and a real PostgreSQL it starts on loopback.
bash scripts/test-issuer.sh
# The pure-Rust P-256 path (what the WASM scanner uses) passes Wycheproof and every vector too.
cargo test --locked -p citycode --no-default-features --features qr,sm2 --test wycheproof --test vectors
bash scripts/test-attest.sh

echo "== Fuzzing: every target for a minute, seeded from test-vectors/ (nightly, cargo-fuzz)"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install --profile minimal nightly
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" bash scripts/fuzz.sh

echo "== Dependencies: licenses, sources, bans, no yanked versions (scripts/check-deps.py)"
python3 scripts/check-deps.py

echo "== Bindings: regenerate (must match the committed ones), Python, Kotlin, Swift checks"
bash scripts/gen-bindings.sh
git diff --exit-code -- bindings/generated/
bash scripts/test-python.sh
bash scripts/test-kotlin.sh
python3 scripts/check-swift.py

echo "== WASM: build the packages (scanner, GM scanner, holder, mini-program), Node tests, browser test"
bash scripts/test-wasm.sh

echo "== Test vectors are reproducible"
cargo run --quiet --locked --example gen_vectors >/dev/null
git diff --exit-code -- test-vectors/
bash scripts/test-refverify.sh

echo "== Demo runs"
cargo run --quiet --locked --example city_day -- --no-qr >/dev/null
echo "all test suites passed"
