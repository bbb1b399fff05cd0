#!/usr/bin/env bash
# Builds the three WASM packages (scanner: verifier only; GM scanner: verifier with SM2;
# holder: verifier + holder + QR + SM2)
# with wasm-bindgen-cli at the crate's exact version, optimises them with wasm-opt, and
# runs the Node tests. Installs what is missing: the wasm32 target, clang (ring's C code
# for wasm32), wasm-bindgen-cli, and binaryen (npm) for wasm-opt.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${CITYCODE_TOOLS:-$HOME/.cache/citycode}"
WB_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
BINARYEN_VERSION=132.0.0
ESBUILD_VERSION=0.28.2

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
command -v clang >/dev/null || { apt-get update -qq && apt-get install -y -qq clang >/dev/null; }
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$WB_VERSION" ]; then
  cargo install --quiet wasm-bindgen-cli --version "$WB_VERSION"
fi
wasm_opt="$tools/binaryen-$BINARYEN_VERSION/node_modules/binaryen/bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  mkdir -p "$tools/binaryen-$BINARYEN_VERSION"
  (cd "$tools/binaryen-$BINARYEN_VERSION" && npm install --silent --no-save "binaryen@$BINARYEN_VERSION" >/dev/null)
fi
esbuild="$tools/esbuild-$ESBUILD_VERSION/node_modules/.bin/esbuild"
if [ ! -x "$esbuild" ]; then
  mkdir -p "$tools/esbuild-$ESBUILD_VERSION"
  (cd "$tools/esbuild-$ESBUILD_VERSION" && npm install --silent --no-save "esbuild@$ESBUILD_VERSION" >/dev/null)
fi

out=target/wasm-pkg
for pkg in verifier verifier-gm holder; do
  features=()
  [ "$pkg" = verifier-gm ] && features=(--features gm)
  [ "$pkg" = holder ] && features=(--features holder)
  cargo build --quiet --locked -p citycode-wasm --target wasm32-unknown-unknown --profile wasm "${features[@]}"
  rm -rf "$out/$pkg" && mkdir -p "$out/$pkg"
  wasm-bindgen --remove-name-section --remove-producers-section --target web --out-dir "$out/$pkg" target/wasm32-unknown-unknown/wasm/citycode_wasm.wasm
  "$wasm_opt" -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    -o "$out/$pkg/citycode_wasm_bg.wasm" "$out/$pkg/citycode_wasm_bg.wasm"
  sed "s/@NAME@/citycode-$pkg/; s/@VERSION@/$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)/" wasm/package.json.in > "$out/$pkg/package.json"
  cp wasm/js/node.mjs wasm/js/index.js wasm/js/webcrypto.js "$out/$pkg/"
  # The shipped JS without its comments (the .d.ts keeps the documentation).
  node wasm/js/strip-comments.mjs "$out/$pkg/citycode_wasm.js" "$out/$pkg/index.js" "$out/$pkg/webcrypto.js" "$out/$pkg/node.mjs"
  # The scanners' browser JS minified (names and exports kept as ES modules): a terminal
  # loads it on every start, and it counts in the 64 KiB budget. The holder's glue stays
  # as wasm-bindgen wrote it: the mini-program build below patches it by its text.
  if [ "$pkg" != holder ]; then
    for f in citycode_wasm.js webcrypto.js; do
      "$esbuild" "$out/$pkg/$f" --minify --format=esm --log-level=warning --outfile="$out/$pkg/$f.min"
      mv "$out/$pkg/$f.min" "$out/$pkg/$f"
    done
  fi
  raw=$(stat -c %s "$out/$pkg/citycode_wasm_bg.wasm")
  gz=$(gzip -9 -c "$out/$pkg/citycode_wasm_bg.wasm" | wc -c)
  # What a browser loads: the module and the JS of the web entry (index.js, the glue,
  # webcrypto.js), each gzipped.
  js=0
  for f in index.js citycode_wasm.js webcrypto.js; do js=$((js + $(gzip -9 -c "$out/$pkg/$f" | wc -c))); done
  echo "wasm $pkg: $raw bytes raw, $gz bytes gzipped; with its JS $((gz + js)) bytes gzipped"
  # The scanner's budget (README): 64 KiB gzipped with the JS a browser loads.
  if [ "$pkg" = verifier ] && [ $((gz + js)) -gt 65536 ]; then
    echo "the scanner package is over its 64 KiB budget ($((gz + js)) > 65536 bytes gzipped with its JS)"
    exit 1
  fi
done
# The mini-program build of the holder package (wasm/js/miniprogram.js): the glue with
# its instantiation internals exported and no import.meta, a TextEncoder/TextDecoder
# polyfill, and the module brotli-compressed as WXWebAssembly accepts it.
mp="$out/miniprogram"
rm -rf "$mp" && mkdir -p "$mp"
cp "$out/holder/citycode_wasm_bg.wasm" "$out/holder/citycode_wasm.d.ts" wasm/js/miniprogram.js wasm/js/text-codec.js "$mp/"
sed -e 's/^export { initSync, __wbg_init as default };$/export { initSync, __wbg_init as default, __wbg_get_imports, __wbg_finalize_init };/' \
    -e "s|module_or_path = new URL('citycode_wasm_bg.wasm', import.meta.url);|throw new Error('in a mini-program, load() the .wasm by its path');|" \
    "$out/holder/citycode_wasm.js" > "$mp/citycode_wasm.js"
grep -q "__wbg_get_imports, __wbg_finalize_init };" "$mp/citycode_wasm.js" && ! grep -q "import.meta" "$mp/citycode_wasm.js" \
  || { echo "the wasm-bindgen glue changed shape: update the mini-program patch"; exit 1; }
node -e 'const z = require("zlib"), fs = require("fs"); const f = process.argv[1];
  fs.writeFileSync(f + ".br", z.brotliCompressSync(fs.readFileSync(f), { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }));' \
  "$mp/citycode_wasm_bg.wasm"
echo "wasm miniprogram (holder): $(stat -c %s "$mp/citycode_wasm_bg.wasm.br") bytes brotli"

# The npm tarballs, as users get them (wasm/tests/package.test.mjs installs them).
mkdir -p target/npm
for pkg in verifier verifier-gm holder; do
  (cd "$out/$pkg" && npm pack --silent --pack-destination "$PWD/../../npm" >/dev/null)
done
# Core's verdicts of every vector, natively, with each package's features: the Node
# tests compare every JS verdict object with them, field for field.
cargo run --quiet --locked -p citycode-wasm --example core_verdicts > "$out/core-verdicts.json"
cargo run --quiet --locked -p citycode-wasm --features gm --example core_verdicts > "$out/core-verdicts-gm.json"
node --test wasm/tests/*.test.mjs

# The terminal page in a real browser: Debian's Chromium driven by playwright-core.
# (A CJK font too, so the Chinese screenshots are legible.)
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi wqy; then
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
fi
if [ ! -d wasm/tests/browser/node_modules/playwright-core ]; then
  (cd wasm/tests/browser && npm install --silent --no-audit --no-fund >/dev/null)
fi
# The terminal page's QR decoder (zxing-wasm), from its lock file, and the scanner
# package as a user installs it: the packed tarball (not saved: its version and digest
# change with every build).
if [ ! -d examples/terminal-web/node_modules/zxing-wasm ]; then
  (cd examples/terminal-web && npm ci --silent --no-audit --no-fund >/dev/null)
fi
(cd examples/terminal-web && npm install --no-save --offline --silent --no-audit --no-fund ../../target/npm/citycode-verifier-[0-9]*.tgz >/dev/null)
# The image test renders a PNG with the CLI.
[ -x target/debug/citycode ] || cargo build --quiet --locked -p citycode-cli
node --test wasm/tests/browser/
echo "screenshots: target/terminal-web/"
