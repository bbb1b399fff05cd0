// WASM verification time per code in Node and in Chromium, beside native time for the
// same codes, in one run. Run after scripts/test-wasm.sh built the packages:
//   node wasm/bench/verify.mjs [iterations] [--json FILE]
// It builds and runs the native side itself (cargo run --release --example verify_speed).
// Each code is verified repeatedly by one verifier (after the first acceptance it is
// replayed, the last check, so every round does the whole work): `verify` all in WASM,
// and `verifyAsync`, whose P-256 signatures go to the host's native ECDSA (node:crypto
// in Node, WebCrypto in Chromium). Keys are imported once and kept (an issuer's come back
// with every code; a new holder's device key costs one import more, measured alone in
// the last column). Chromium is Debian's,
// driven by playwright-core (wasm/tests/browser), on a page served from 127.0.0.1.
// With --json, it also writes the accept_hospital figures for the peer comparison
// (scripts/bench-compare.sh passes them to citycode-compare).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const iterations = Number(process.argv[2] ?? 3000);
const jsonAt = process.argv.indexOf("--json");
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined;
const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));

const native = Object.fromEntries(
  execFileSync("cargo", ["run", "--quiet", "--release", "--locked", "--example", "verify_speed", "--", String(iterations)], { cwd: root, encoding: "utf8" })
    .trim().split("\n").map((l) => JSON.parse(l)).map((r) => [r.case, r.ns_per_verify]),
);
const cases = Object.keys(native).map((name) => vectors.cases.find((x) => x.name === name));

// Runs in Node and, serialised, in the page: times each case with `verify` and, for
// codes with P-256 keys, `verifyAsync`; and one WebCrypto key import. SM2 codes run in
// the GM scanner package. Fastest of five rounds, as on the native side.
async function measure(packages, cases, iterations) {
  const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  const now = () => performance.now() * 1e6;
  const out = {};
  for (const c of cases) {
    const s = c.verifier;
    const pkg = s.root_alg === "sm2_sm3" ? packages.gm : packages.scanner;
    const v = new pkg.Verifier(s.root_key, s.root_alg, s.scene);
    if (s.gm_only) v.requireGmOnly();
    for (const l of s.trust_lists) v.loadTrustList(b64(l));
    for (const l of s.revocation_lists) v.loadRevocationList(b64(l), c.now);
    if (v.verify(c.input, c.now).decision !== "accept") throw new Error(`${c.name} not accepted`);
    const time = async (run) => {
      for (let i = 0; i < 200; i++) await run(); // warm up the JIT
      let ns = Infinity;
      for (let round = 0; round < 5; round++) {
        const t0 = now();
        for (let i = 0; i < iterations; i++) await run();
        ns = Math.min(ns, (now() - t0) / iterations);
      }
      return ns;
    };
    const hostChecks = v.p256Checks(c.input);
    out[c.name] = {
      verify: await time(() => v.verify(c.input, c.now)),
      verifyAsync: hostChecks.length ? await time(() => v.verifyAsync(c.input, c.now)) : undefined,
      keyImport: hostChecks.length ? await time(() => packages.importKey(hostChecks[0].publicKey)) : undefined,
    };
  }
  return out;
}

async function nodeFigures() {
  const { createPublicKey } = await import("node:crypto");
  const load = async (name) => import(pathToFileURL(path.join(root, "target", "wasm-pkg", name, "node.mjs")));
  // As node.mjs imports a key for node:crypto.
  const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
  const importKey = (raw) =>
    createPublicKey({ format: "jwk", key: { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) } });
  return measure({ scanner: await load("verifier"), gm: await load("verifier-gm"), importKey }, cases, iterations);
}

async function chromiumFigures() {
  const playwright = path.join(root, "wasm", "tests", "browser", "node_modules", "playwright-core", "index.mjs");
  const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(playwright) || !existsSync(chromiumPath)) return undefined;
  const { chromium } = await import(pathToFileURL(playwright));
  const server = http.createServer(async (req, res) => {
    const pathname = path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    const type = pathname.endsWith(".wasm") ? "application/wasm" : pathname.endsWith(".js") ? "text/javascript" : "text/html";
    let body = "<!doctype html>";
    if (pathname !== "/") {
      try { body = await readFile(path.join(root, "target", "wasm-pkg", pathname)); }
      catch { res.writeHead(404).end(); return; }
    }
    res.writeHead(200, { "content-type": type }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    return await page.evaluate(async ([source, cases, iterations]) => {
      const scanner = await import("/verifier/index.js");
      const gm = await import("/verifier-gm/index.js");
      await scanner.default();
      await gm.default();
      const measure = (0, eval)(`(${source})`);
      const importKey = (raw) => crypto.subtle.importKey("raw", raw, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      return measure({ scanner, gm, importKey }, cases, iterations);
    }, [measure.toString(), cases, iterations]);
  } finally {
    await browser.close();
    server.close();
  }
}

const node = await nodeFigures();
const browser = await chromiumFigures();
const us = (ns) => (ns === undefined ? "–" : (ns / 1000).toFixed(1));
const x = (ns, name) => (ns === undefined ? "–" : (ns / native[name]).toFixed(2));
console.log("| code | native µs | Node verify µs (ratio) | Node verifyAsync µs (ratio) | Chromium verify µs (ratio) | Chromium verifyAsync µs (ratio) | key import µs Node / Chromium |");
console.log("|---|---|---|---|---|---|---|");
for (const { name } of cases) {
  const n = node[name];
  const b = browser?.[name] ?? {};
  console.log(`| ${name} | ${us(native[name])} | ${us(n.verify)} (${x(n.verify, name)}) | ${us(n.verifyAsync)} (${x(n.verifyAsync, name)}) | ` +
    `${us(b.verify)} (${x(b.verify, name)}) | ${us(b.verifyAsync)} (${x(b.verifyAsync, name)}) | ${us(n.keyImport)} / ${us(b.keyImport)} |`);
}
if (!browser) console.log("(Chromium or playwright-core not found: run scripts/test-wasm.sh first for the browser columns)");
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ native_ns: native.accept_hospital, wasm_ns: node.accept_hospital.verify }));
