// WASM verification time per code in Node, beside native time for the same codes, in
// one run. Run after scripts/test-wasm.sh built the packages:
//   node wasm/bench/verify.mjs [iterations] [--json FILE]
// It builds and runs the native side itself (cargo run --release --example verify_speed).
// With --json, it also writes the accept_hospital figures for the peer comparison
// (scripts/bench-compare.sh passes them to citycode-compare).
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const iterations = Number(process.argv[2] ?? 3000);
const jsonAt = process.argv.indexOf("--json");
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const figures = {};
async function load(name) {
  const pkg = path.join(root, "target", "wasm-pkg", name);
  const mod = await import(path.join(pkg, "citycode_wasm.js"));
  mod.initSync({ module: readFileSync(path.join(pkg, "citycode_wasm_bg.wasm")) });
  return mod;
}
// SM2 codes run in the GM scanner package; the others in the default scanner.
const scanner = await load("verifier");
const gmScanner = await load("verifier-gm");
const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));

const native = Object.fromEntries(
  execFileSync("cargo", ["run", "--quiet", "--release", "--locked", "--example", "verify_speed", "--", String(iterations)], { cwd: root, encoding: "utf8" })
    .trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.case, r.ns_per_verify]),
);

console.log("| code | native µs/verify | WASM (Node) µs/verify | ratio |");
console.log("|---|---|---|---|");
for (const name of Object.keys(native)) {
  const c = vectors.cases.find((x) => x.name === name);
  const s = c.verifier;
  const cc = s.root_alg === "sm2_sm3" ? gmScanner : scanner;
  const v = new cc.Verifier(s.root_key, s.root_alg, s.scene);
  if (s.gm_only) v.requireGmOnly();
  for (const l of s.trust_lists) v.loadTrustList(new Uint8Array(Buffer.from(l, "base64url")));
  for (const l of s.revocation_lists) v.loadRevocationList(new Uint8Array(Buffer.from(l, "base64url")));
  if (!v.verify(c.input, c.now).accepted) throw new Error(`${name} not accepted`);
  for (let i = 0; i < 200; i++) v.verify(c.input, c.now); // warm up the JIT
  let ns = Infinity; // fastest of five rounds, as on the native side
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) v.verify(c.input, c.now);
    ns = Math.min(ns, Number(process.hrtime.bigint() - t0) / iterations);
  }
  console.log(`| ${name} | ${(native[name] / 1000).toFixed(1)} | ${(ns / 1000).toFixed(1)} | ${(ns / native[name]).toFixed(2)} |`);
  figures[name] = { native_ns: native[name], wasm_ns: ns };
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(figures.accept_hospital));
