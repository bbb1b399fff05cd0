// Packaging step (scripts/test-wasm.sh): removes the comments from the JS a package
// ships, in place. They are for readers of the sources: wasm-bindgen copies every Rust
// doc comment into the glue as JSDoc, which the package's .d.ts already carries for
// editors, and a browser downloads the glue on every terminal start. Only whole comment
// lines go: a `/** ... */` block or a `//` line that begins a line (after indentation),
// which neither wasm-bindgen's glue nor our own modules put inside a string.
import { readFileSync, writeFileSync } from "node:fs";

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const stripped = text
    .replace(/^[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/gm, "")
    .replace(/^[ \t]*\/\/.*\n/gm, "");
  writeFileSync(file, stripped);
}
