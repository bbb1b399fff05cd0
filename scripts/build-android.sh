#!/usr/bin/env bash
# Builds libcitycode_ffi.so for the Android ABIs with cargo-ndk into
# bindings/android/src/main/jniLibs/<abi>/, then the AAR if Gradle is installed.
# Needs the Android NDK (r26 or later) in ANDROID_NDK_HOME; installs cargo-ndk and the
# Rust targets if missing. Not run in CI: no NDK can be installed on the build machines.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
  echo "ANDROID_NDK_HOME is not set to an NDK: install the Android NDK (r26+, e.g. with the SDK manager)" >&2
  echo "and run: ANDROID_NDK_HOME=/path/to/ndk bash scripts/build-android.sh" >&2
  exit 2
fi
command -v cargo-ndk >/dev/null || cargo install --locked cargo-ndk
targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
jni=bindings/android/src/main/jniLibs
# minSdk 24, as bindings/android/build.gradle.kts says.
cargo ndk --platform 24 -t arm64-v8a -t armeabi-v7a -t x86_64 -t x86 -o "$jni" \
  build --locked --release -p citycode-ffi --no-default-features   # no PDF cards on phones
bash scripts/gen-bindings.sh >/dev/null   # the Kotlin the AAR compiles, from the same build
ls -l "$jni"/*/libcitycode_ffi.so
if command -v gradle >/dev/null; then
  (cd bindings/android && gradle --quiet assembleRelease)
  ls -l bindings/android/build/outputs/aar/
else
  echo "gradle not found: open bindings/android as a module, or run gradle assembleRelease there" >&2
fi
