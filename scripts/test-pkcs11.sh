#!/usr/bin/env bash
# Root and issuer keys in a PKCS#11 token, against SoftHSM2 (Debian's softhsm2): the
# citycode-pkcs11 crate (keygen in the token, every artefact signed and verified, wrong
# PIN, missing token and key, wrong key type, lost session, removed token, the session
# pool) and the CLI with `token:CONFIG` keys. Every test makes its own token directory
# under a temporary directory and points SOFTHSM2_CONF at it; nothing touches the
# system's tokens, and no server runs. Installs softhsm2 if it is missing;
# `--install-only` stops there (scripts/test-all.sh runs these tests in its workspace step).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v softhsm2-util >/dev/null; then
    apt-get update -qq && apt-get install -y -qq softhsm2 >/dev/null
fi
[ "${1:-}" = --install-only ] && exit 0
cargo test --locked -p citycode-pkcs11
cargo test --locked -p citycode-cli --test token
