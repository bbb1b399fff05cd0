#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 60) each, seeded from
# test-vectors/. Needs the nightly toolchain; installs cargo-fuzz if missing. Crash
# reproducers land in fuzz/artifacts/<target>/; turn each into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
# Seeds: every vector input (text), its bytes, the demo lists and list statuses.
python3 - <<'PY'
import base64, json, os, re
cases = json.load(open("test-vectors/codes.json"))["cases"]
holder = json.load(open("test-vectors/holder.json"))
def digits_to_bytes(text):
    d = text[4:]
    if not text.startswith("CC1:") or not d.isdigit():
        return None
    table = {3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6, 17: 7, 20: 8, 22: 9, 25: 10, 27: 11, 29: 12}
    out = b""
    while d:
        n = 29 if len(d) >= 29 else len(d)
        k = table.get(n)
        if k is None:
            return None
        out += int(d[:n]).to_bytes(k, "big") if int(d[:n]) < 256 ** k else b""
        d = d[n:]
    return out
for target in ("decode_text", "verify", "parse", "lists", "attestation"):
    os.makedirs(f"fuzz/corpus/{target}", exist_ok=True)
for i, c in enumerate(cases):
    for target in ("decode_text", "verify"):
        open(f"fuzz/corpus/{target}/vector-{i}", "w").write(c["input"])
    b = digits_to_bytes(c["input"])
    if b:
        open(f"fuzz/corpus/parse/vector-{i}", "wb").write(b)
    for j, l in enumerate(c["verifier"]["trust_lists"] + c["verifier"]["revocation_lists"]):
        open(f"fuzz/corpus/lists/vector-{i}-{j}", "wb").write(base64.urlsafe_b64decode(l + "=" * (-len(l) % 4)))
for n in ("1", "2"):
    open(f"fuzz/corpus/lists/status-{n}", "wb").write(open(f"test-vectors/lists/{n}/status.bin", "rb").read())
open("fuzz/corpus/parse/credential", "wb").write(base64.urlsafe_b64decode(holder["credential"] + "=" * (-len(holder["credential"]) % 4)))
# Attestation seeds: every entry of test-vectors/attestation.json as JSON (form 0), its
# chain as length-prefixed certificates (form 1) or its App Attest object (form 2).
for i, c in enumerate(json.load(open("test-vectors/attestation.json"))["cases"]):
    e = c["entry"]
    if not isinstance(e, dict):
        continue
    open(f"fuzz/corpus/attestation/entry-{i}", "wb").write(b"\x00" + json.dumps(e).encode())
    unb64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    try:
        if isinstance(e.get("chain"), list):
            certs = [unb64(x) for x in e["chain"]]
            open(f"fuzz/corpus/attestation/chain-{i}", "wb").write(b"\x01" + b"".join(len(x).to_bytes(2, "big") + x for x in certs))
        elif isinstance(e.get("attestation"), str):
            open(f"fuzz/corpus/attestation/apple-{i}", "wb").write(b"\x02" + unb64(e["attestation"]))
    except Exception:
        pass  # the malformed-base64 cases
open("fuzz/corpus/attestation/status", "wb").write(b'\x03{"entries": {"2c8cdddfd5e03bfc": {"status": "REVOKED"}}}')
PY
for target in decode_text parse verify lists attestation; do
  echo "== fuzz $target (${seconds}s)"
  # The one target dir of every step (a subdirectory: fuzz builds use sanitizer flags).
  cargo +nightly fuzz run --fuzz-dir fuzz --target-dir target/fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E "^(#[0-9]+[[:space:]]+(INITED|DONE) |stat::(number_of_executed_units|new_units_added)|SUMMARY|ERROR|==[0-9]+==|.*panicked|Test unit written)"
done
