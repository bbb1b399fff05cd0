// The npm packages as users get them: `npm pack` tarballs (scripts/test-wasm.sh makes
// them) installed into a fresh folder, imported by name from Node with no init() and no
// fetch, and the browser entry instantiated from bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const npmDir = path.join(root, "target", "npm");
const tarballs = readdirSync(npmDir).filter((f) => f.endsWith(".tgz")).map((f) => path.join(npmDir, f));
const app = mkdtempSync(path.join(tmpdir(), "citycode-app-"));
writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", ...tarballs], { cwd: app });

const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));
const caseNamed = (name) => vectors.cases.find((c) => c.name === name);

/** Runs `source` as an ES module inside the app folder; returns its stdout. */
function runInApp(source) {
  writeFileSync(path.join(app, "main.mjs"), source);
  return execFileSync(process.execPath, ["main.mjs"], { cwd: app, encoding: "utf8" });
}

test("three tarballs install offline into a fresh app", () => {
  const names = tarballs.map((t) => path.basename(t)).sort();
  assert.deepEqual(names.map((n) => n.replace(/-\d+\.\d+\.\d+\.tgz$/, "")), ["citycode-holder", "citycode-verifier", "citycode-verifier-gm"]);
  for (const pkg of ["citycode-verifier", "citycode-verifier-gm", "citycode-holder"]) {
    const manifest = JSON.parse(readFileSync(path.join(app, "node_modules", pkg, "package.json"), "utf8"));
    assert.equal(manifest.exports["."].node, "./node.mjs");
    assert.equal(manifest.exports["."].types, "./citycode_wasm.d.ts");
    const types = readFileSync(path.join(app, "node_modules", pkg, "citycode_wasm.d.ts"), "utf8");
    assert.match(types, /export type ReasonCode =\s+\| "text_prefix"/);
    assert.match(types, /reason: ReasonCode/);
    assert.match(types, /export type Algorithm = "ed25519" \| "ecdsa_p256_sha256" \| "sm2_sm3"/);
  }
});

test("Node imports the scanner by name and verifies with no init and no fetch", () => {
  const c = caseNamed("accept_metro_gate");
  const out = runInApp(`
    delete globalThis.fetch;
    import("citycode-verifier").then(({ Verifier, version }) => {
      const s = ${JSON.stringify(c.verifier)};
      const v = new Verifier(s.root_key, s.root_alg, s.scene);
      for (const l of s.trust_lists) v.loadTrustList(new Uint8Array(Buffer.from(l, "base64url")));
      for (const l of s.revocation_lists) v.loadRevocationList(new Uint8Array(Buffer.from(l, "base64url")), ${c.now});
      const d = v.verify(${JSON.stringify(c.input)}, ${c.now});
      console.log(JSON.stringify({ version: version(), accepted: d.decision === "accept", again: v.verify(${JSON.stringify(c.input)}, ${c.now}).reason }));
    });`);
  assert.deepEqual(JSON.parse(out), { version: "0.1.0", accepted: true, again: "replayed" });
});

test("the GM scanner package verifies an all-SM2 code; the default one refuses it", () => {
  const c = caseNamed("gm_accept_metro_gate");
  const out = runInApp(`
    import * as gm from "citycode-verifier-gm";
    import * as plain from "citycode-verifier";
    const s = ${JSON.stringify(c.verifier)};
    const v = new gm.Verifier(s.root_key, s.root_alg, s.scene);
    v.requireGmOnly();
    for (const l of s.trust_lists) v.loadTrustList(new Uint8Array(Buffer.from(l, "base64url")));
    for (const l of s.revocation_lists) v.loadRevocationList(new Uint8Array(Buffer.from(l, "base64url")), ${c.now});
    let plainCode;
    try { new plain.Verifier(s.root_key, s.root_alg, s.scene); } catch (e) { plainCode = e.code; }
    console.log(JSON.stringify({ accepted: v.verify(${JSON.stringify(c.input)}, ${c.now}).decision === "accept", plainCode }));`);
  assert.deepEqual(JSON.parse(out), { accepted: true, plainCode: "unsupported_algorithm" });
});

test("the browser entry (default export condition) instantiates from bytes", async () => {
  const dir = path.join(app, "node_modules", "citycode-holder");
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const web = await import(pathToFileURL(path.join(dir, manifest.exports["."].default)).href);
  await web.default({ module_or_path: readFileSync(path.join(dir, "citycode_wasm_bg.wasm")) });
  const key = web.generateDeviceKey("sm2_sm3");
  assert.equal(key.public_key.length, 33);
});

test("the installed scanner's verifyAsync (node:crypto for P-256) gives every vector's result", () => {
  const usesSm2 = (c) => c.verifier.root_alg === "sm2_sm3" || c.name === "sm2_device_key_in_an_ed25519_city";
  const cases = vectors.cases.filter((c) => !usesSm2(c));
  writeFileSync(path.join(app, "cases.json"), JSON.stringify(cases));
  const out = runInApp(`
    import { readFileSync } from "node:fs";
    import { Verifier } from "citycode-verifier";
    const b64 = (s) => new Uint8Array(Buffer.from(s, "base64url"));
    const results = {};
    let hostChecks = 0;
    for (const c of JSON.parse(readFileSync("cases.json", "utf8"))) {
      const s = c.verifier;
      let d;
      try {
        const v = new Verifier(s.root_key, s.root_alg, s.scene);
        v.setSkew(s.skew_secs);
        v.setUtcOffsetMinutes(s.utc_offset_minutes);
        v.setMaxCodeValidity(s.max_code_validity_secs);
        if (s.allow_missing_revocation_list) v.allowMissingRevocationList();
        for (const l of s.trust_lists) v.loadTrustList(b64(l));
        for (const l of s.revocation_lists) v.loadRevocationList(b64(l), c.now);
        for (const seen of c.seen ?? []) await v.verifyAsync(seen.input, seen.now);
        hostChecks += v.p256Checks(c.input).length;
        d = await v.verifyAsync(c.input, c.now);
      } catch (e) {
        d = { decision: "reject", reason: e.code };
      }
      results[c.name] = d.decision === "accept" ? "accept" : d.reason;
    }
    console.log(JSON.stringify({ results, hostChecks }));`);
  const { results, hostChecks } = JSON.parse(out);
  assert.ok(hostChecks >= 6, `${hostChecks} P-256 signatures`);
  for (const c of cases) assert.equal(results[c.name], c.expected, c.name);
});
