#!/usr/bin/env bash
# Builds target/ios/citycode_ffiFFI.xcframework for Package.swift: the static library for
# iOS devices (arm64), the iOS simulator (arm64 + x86_64, one fat library) and macOS
# (arm64 + x86_64), each with the generated C header and a module map naming the module
# the Swift binding imports (citycode_ffiFFI). Needs macOS with Xcode; untested here (no
# Apple toolchain on the build machines).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xcodebuild >/dev/null; then
  echo "xcodebuild not found: build the XCFramework on macOS with Xcode installed" >&2
  exit 2
fi
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
  cargo build --locked --release -p citycode-ffi --no-default-features --target "$t"   # no PDF cards on phones
done
bash scripts/gen-bindings.sh >/dev/null
out=target/ios
rm -rf "$out" && mkdir -p "$out/headers" "$out/ios-sim" "$out/macos"
cp bindings/generated/swift/citycode_ffiFFI.h "$out/headers/"
cp bindings/generated/swift/citycode_ffiFFI.modulemap "$out/headers/module.modulemap"
lib() { echo "target/$1/release/libcitycode_ffi.a"; }
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$out/ios-sim/libcitycode_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$out/macos/libcitycode_ffi.a"
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$out/headers" \
  -library "$out/ios-sim/libcitycode_ffi.a" -headers "$out/headers" \
  -library "$out/macos/libcitycode_ffi.a" -headers "$out/headers" \
  -output "$out/citycode_ffiFFI.xcframework"
(cd "$out" && zip -qry citycode_ffiFFI.xcframework.zip citycode_ffiFFI.xcframework)
swift package compute-checksum "$out/citycode_ffiFFI.xcframework.zip" 2>/dev/null || true
echo "built $out/citycode_ffiFFI.xcframework (and .zip for a release's binaryTarget)"
