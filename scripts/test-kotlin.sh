#!/usr/bin/env bash
# Kotlin binding tests: compile the generated Kotlin with kotlinc (npm package
# kotlin-compiler) and JNA (Debian libjna-java), run every vector and a full flow with a
# java.security P-256 device key.
set -euo pipefail
cd "$(dirname "$0")/.."
KOTLIN_VERSION=2.4.20
tools="${CITYCODE_TOOLS:-$HOME/.cache/citycode}"
kotlinc="$tools/kotlin-compiler-$KOTLIN_VERSION/package/bin/kotlinc"
if [ ! -x "$kotlinc" ]; then
  mkdir -p "$tools/kotlin-compiler-$KOTLIN_VERSION"
  (cd "$tools/kotlin-compiler-$KOTLIN_VERSION" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf kotlin-compiler-*.tgz && rm kotlin-compiler-*.tgz)
fi
jna=/usr/share/java/jna.jar
if [ ! -f "$jna" ]; then
  (apt-get update -qq && apt-get install -y -qq libjna-java) >/dev/null
fi
# Async signers (suspend fun) need kotlinx-coroutines, which the compiler package ships.
coroutines="$(dirname "$kotlinc")/../lib/kotlinx-coroutines-core-jvm.jar"
out=target/bindings-kotlin
mkdir -p "$out"
stamp="$out/.sources"
sources=(bindings/generated/kotlin/uniffi/citycode_ffi/citycode_ffi.kt bindings/tests/kotlin/*.kt examples/kotlin/*.kt)
sum=$(cat "${sources[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/test.jar" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  rm -f "$out/test.jar" "$stamp"  # a failed compile must not leave the last jar to run
  "$kotlinc" -nowarn -cp "$jna:$coroutines" -d "$out/test.jar" "${sources[@]}" 2>&1 | grep -v '^warning' || true
  [ -f "$out/test.jar" ] || { echo "kotlinc failed"; exit 1; }
  echo "$sum" > "$stamp"
fi
run() { java -Djna.library.path="$PWD/target/debug" -cp "$out/test.jar:$jna:$coroutines:$(dirname "$kotlinc")/../lib/kotlin-stdlib.jar" "$@"; }
# The examples, so they cannot rot.
run citycode.examples.holder.HolderKt
run citycode.examples.sm2holder.Sm2HolderKt
mapfile -t args < <(python3 -c '
import json
c = next(c for c in json.load(open("test-vectors/codes.json"))["cases"] if c["name"] == "accept_hospital")
v = c["verifier"]
print(v["root_key"]); print(v["trust_lists"][0]); print(v["revocation_lists"][0]); print(c["input"]); print(c["now"])')
run citycode.examples.verifier.VerifierKt "${args[@]}"
run citycode.test.BindingTestKt test-vectors/codes.json
# The holder flows against the running issuing service (its binary, on loopback).
cargo build --quiet --locked -p citycode-issuer
run citycode.test.IssuerServiceTestKt "$PWD/target/debug/citycode-issuer"
