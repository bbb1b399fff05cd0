// Node tests of the WASM packages: every test vector through the scanner package gives
// the Rust result; holder-built codes verify; hostile input never throws or traps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..", "..");
const pkgDir = process.env.CITYCODE_WASM_PKG ?? path.join(root, "target", "wasm-pkg");

async function load(name) {
  const mod = await import(path.join(pkgDir, name, "citycode_wasm.js"));
  mod.initSync({ module: readFileSync(path.join(pkgDir, name, "citycode_wasm_bg.wasm")) });
  await import(path.join(pkgDir, name, "webcrypto.js")); // Verifier.prototype.verifyAsync
  return mod;
}

const scanner = await load("verifier");
const gmScanner = await load("verifier-gm");
const holderPkg = await load("holder");
const vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8"));
const sm2Vectors = JSON.parse(readFileSync(path.join(root, "test-vectors", "sm2.json"), "utf8"));
// Cases with an SM2 key: every one whose root is SM2, and an SM2 device in the Ed25519 city.
const usesSm2 = (c) => c.verifier.root_alg === "sm2_sm3" || c.name === "sm2_device_key_in_an_ed25519_city";

const b64 = (s) => new Uint8Array(Buffer.from(s, "base64url"));

// A case's verifier, configured and loaded, or the decision its setup already made.
function prepareCase(cc, c) {
  const s = c.verifier;
  let v;
  try {
    v = new cc.Verifier(s.root_key, s.root_alg, s.scene);
  } catch (e) {
    assert.ok(typeof e.code === "string", `constructor error without code: ${e}`);
    return { decision: { decision: "reject", reason: e.code, detail: e.detail } };
  }
  if (s.gm_only) v.requireGmOnly();
  v.setSkew(s.skew_secs);
  v.setUtcOffsetMinutes(s.utc_offset_minutes);
  v.setMaxCodeValidity(s.max_code_validity_secs);
  if (s.allow_missing_revocation_list) v.allowMissingRevocationList();
  try {
    for (const l of s.trust_lists) v.loadTrustList(b64(l));
    for (const l of s.revocation_lists) v.loadRevocationList(b64(l), c.now);
  } catch (e) {
    assert.ok(typeof e.code === "string", `load error without code: ${e}`);
    return { decision: { decision: "reject", reason: e.code, detail: e.detail } };
  }
  for (const seen of c.seen ?? []) assert.equal(v.verify(seen.input, seen.now).decision, "accept");
  return { v };
}

function runCase(cc, c) {
  const { v, decision } = prepareCase(cc, c);
  return v ? v.verify(c.input, c.now) : decision;
}

// The same through verifyAsync: P-256 signatures by the host's WebCrypto.
async function runCaseAsync(cc, c) {
  const { v, decision } = prepareCase(cc, c);
  return v ? await v.verifyAsync(c.input, c.now) : decision;
}

function assertExpected(c, d) {
  if (c.expected === "accept") {
    assert.equal(d.decision, "accept", `${c.name}: ${JSON.stringify(d)}`);
    assert.deepEqual(d.claims, c.claims, c.name);
    assert.equal(d.subject, c.subject, c.name);
    assert.equal(d.revocation_checked, c.revocation_checked ?? true, c.name);
    assert.equal(d.replay_checked, c.replay_checked ?? true, c.name);
    assert.equal(d.printed, c.printed, c.name); // present (true) only for a printed code, as in core's JSON
  } else {
    assert.equal(d.decision, "reject", c.name);
    assert.equal(d.reason, c.expected, c.name);
  }
}

// Core's verdict and held lists of every case, as serde JSON, from a native build with
// each package's features (scripts/test-wasm.sh runs wasm/examples/core_verdicts.rs).
const coreVerdicts = (file) => JSON.parse(readFileSync(path.join(pkgDir, file), "utf8"));

// The fields a type of the package's .d.ts declares: a Decision's per variant (keyed by
// its `decision`), an interface's at its top level; `?` marks an optional one.
function declaredFields(body) {
  const fields = new Map();
  let depth = 0, start = 0;
  const parts = [];
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if ((body[i] === ";" || body[i] === "\n") && depth === 0) { parts.push(body.slice(start, i)); start = i + 1; }
  }
  parts.push(body.slice(start));
  for (const part of parts) {
    const m = part.replace(/\/\*\*[^]*?\*\//g, "").match(/^\s*(\w+)(\??):/);
    if (m) fields.set(m[1], m[2] === "?");
  }
  return fields;
}

function decisionVariants(dts) {
  const text = dts.slice(dts.indexOf("export type Decision ="));
  // wasm-bindgen re-indents the custom section: split on the `|` that opens a line.
  const union = text.slice(0, text.indexOf(";\n")).split(/\n\s*\|\s*/).slice(1);
  return Object.fromEntries(union.map((v) => {
    const fields = declaredFields(v.trim().slice(1, -1));
    return [v.match(/decision: "(\w+)"/)[1], fields];
  }));
}

function interfaceFields(dts, name) {
  const text = dts.slice(dts.indexOf(`export interface ${name} {`) + `export interface ${name} {`.length);
  let depth = 1, i = 0;
  for (; depth > 0; i++) depth += text[i] === "{" ? 1 : text[i] === "}" ? -1 : 0;
  return declaredFields(text.slice(0, i - 1));
}

test("the type parser reads types.d.ts", () => {
  const dts = readFileSync(path.join(pkgDir, "verifier", "citycode_wasm.d.ts"), "utf8");
  const v = decisionVariants(dts);
  assert.deepEqual([...v.accept.keys()].sort(), ["claims", "decision", "issued_at", "issuers", "policy", "printed", "replay_checked", "revocation_checked", "subject"]);
  assert.equal(v.accept.get("printed"), true);
  assert.equal(v.accept.get("policy"), false);
  assert.deepEqual([...v.reject.keys()], ["decision", "reason", "detail"]);
  assert.deepEqual([...interfaceFields(dts, "HeldList").keys()], ["name", "sequence", "issued_at", "expires_at"]);
  assert.ok(interfaceFields(dts, "Claims").has("guardian"));
});

for (const [label, pkg, cc, core, cases] of [
  ["scanner", "verifier", scanner, "core-verdicts.json", vectors.cases.filter((c) => !usesSm2(c))],
  ["GM scanner", "verifier-gm", gmScanner, "core-verdicts-gm.json", vectors.cases],
  ["holder", "holder", holderPkg, "core-verdicts-gm.json", vectors.cases],
]) {
  test(`${label} package: every verdict and held list is core's JSON field for field, each field declared in types.d.ts`, () => {
    const expected = coreVerdicts(core);
    const dts = readFileSync(path.join(pkgDir, pkg, "citycode_wasm.d.ts"), "utf8");
    const variants = decisionVariants(dts);
    const claimsFields = interfaceFields(dts, "Claims");
    const heldFields = [...interfaceFields(dts, "HeldList").keys()];
    const carried = new Set();
    for (const c of cases) {
      const { v, decision } = prepareCase(cc, c);
      const d = v ? v.verify(c.input, c.now) : decision;
      assert.deepStrictEqual(d, expected[c.name].verdict, c.name);
      if (v) assert.deepStrictEqual(v.heldLists(), expected[c.name].held_lists, c.name);
      // Every field the object carries is declared, and every required one is there.
      const declared = variants[d.decision];
      for (const k of Object.keys(d)) {
        assert.ok(declared.has(k), `${c.name}: ${d.decision}.${k} is not declared in types.d.ts`);
        carried.add(`${d.decision}.${k}`);
      }
      for (const [k, optional] of declared) assert.ok(optional || k in d, `${c.name}: ${d.decision}.${k} missing`);
      for (const k of Object.keys(d.claims ?? {})) assert.ok(claimsFields.has(k), `${c.name}: claims.${k} undeclared`);
      for (const h of v?.heldLists() ?? []) assert.deepEqual(Object.keys(h), heldFields, c.name);
    }
    // And no declared field is missing from what the package answers.
    for (const [variant, fields] of Object.entries(variants)) {
      for (const k of fields.keys()) assert.ok(carried.has(`${variant}.${k}`), `${variant}.${k} is declared but never carried`);
    }
  });
}

test("scanner package (no SM2): every SM2 case is unsupported_algorithm, so it fails closed", () => {
  const sm2Cases = vectors.cases.filter(usesSm2);
  assert.ok(sm2Cases.length >= 20);
  for (const c of sm2Cases) {
    const d = runCase(scanner, c);
    assert.equal(d.decision, "reject", c.name);
    assert.equal(d.reason, "unsupported_algorithm", c.name);
  }
  assert.equal(scanner.verifySignature, undefined);
});

for (const [label, cc, cases] of [
  ["scanner", scanner, vectors.cases.filter((c) => !usesSm2(c))],
  ["GM scanner", gmScanner, vectors.cases],
  ["holder", holderPkg, vectors.cases],
]) {
  test(`${label} package: every vector gives the Rust result`, () => {
    assert.ok(cases.length >= 50);
    for (const c of cases) assertExpected(c, runCase(cc, c));
  });

  test(`${label} package: every vector gives the Rust result with P-256 through WebCrypto`, async () => {
    const subtle = globalThis.crypto.subtle;
    const real = subtle.verify;
    let hostChecks = 0;
    subtle.verify = function (...args) {
      hostChecks += 1;
      return real.apply(this, args);
    };
    try {
      for (const c of cases) assertExpected(c, await runCaseAsync(cc, c));
    } finally {
      subtle.verify = real;
    }
    assert.ok(hostChecks >= 6, `${hostChecks} signatures went to WebCrypto`);
  });
}

test("verifyAsync without WebCrypto, or with one that throws, gives the Rust result in WASM", async () => {
  const cases = vectors.cases.filter((c) => !usesSm2(c));
  const subtle = globalThis.crypto.subtle;
  const real = subtle.verify;
  subtle.verify = () => Promise.reject(new Error("no ECDSA here"));
  try {
    for (const c of cases) assertExpected(c, await runCaseAsync(scanner, c));
  } finally {
    subtle.verify = real;
  }
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
  try {
    assert.equal(globalThis.crypto, undefined);
    for (const c of cases) assertExpected(c, await runCaseAsync(scanner, c));
  } finally {
    Object.defineProperty(globalThis, "crypto", descriptor);
  }
});

test("a WebCrypto that says yes to everything cannot pass what SPEC.md §4.2's checks refuse", async () => {
  const structural = ["p256_device_signature_r_zero", "p256_device_signature_s_zero", "p256_device_signature_r_is_n",
    "p256_device_signature_s_is_n"].map((name) => vectors.cases.find((c) => c.name === name));
  const subtle = globalThis.crypto.subtle;
  const real = subtle.verify;
  subtle.verify = async () => true;
  try {
    for (const c of structural) {
      const { v } = prepareCase(scanner, c);
      // The issuer is Ed25519 and the device signature fails r, s in [1, n - 1]: nothing
      // goes to the host, and the decision is WASM's.
      assert.deepEqual(v.p256Checks(c.input), [], c.name);
      assertExpected(c, await v.verifyAsync(c.input, c.now));
    }
  } finally {
    subtle.verify = real;
  }
  const c = vectors.cases.find((x) => x.name === "accept_metro_gate_p256_device");
  const { v } = prepareCase(scanner, c);
  // p256Checks keeps its parse for the verifyHostChecked of the same text only: checks
  // of the genuine code, then the forged one's text, decide the forged one.
  const forged = vectors.cases.find((x) => x.name === "p256_device_signature_bad");
  const genuineChecks = v.p256Checks(c.input);
  assert.equal(v.verifyHostChecked(forged.input, forged.now, genuineChecks).reason, "bad_device_signature");
  v.p256Checks(c.input);
  assert.equal(v.verifyHostChecked(c.input, c.now, genuineChecks).decision, "accept");
  assert.equal(v.verifyHostChecked(c.input, c.now, genuineChecks).reason, "replayed");
  assert.throws(() => v.verifyHostChecked(c.input, c.now, [{ publicKey: new Uint8Array(33) }]),
    (e) => e.code === "invalid_argument");
  assert.deepEqual(v.p256Checks("not a code"), []);
});

for (const [label, cc] of [["GM scanner", gmScanner], ["holder", holderPkg]]) {
  test(`${label} package: SM3 samples and SM2 signature vectors`, () => {
    const bytes = (h) => new Uint8Array(Buffer.from(h, "hex"));
    for (const d of sm2Vectors.sm3) {
      assert.equal(Buffer.from(cc.digest("sm2_sm3", bytes(d.message))).toString("hex"), d.digest, d.name);
    }
    assert.ok(sm2Vectors.signatures.filter((c) => !c.valid).length >= 10);
    for (const c of sm2Vectors.signatures) {
      const run = () => cc.verifySignature("sm2_sm3", bytes(c.public_key), bytes(c.message), bytes(c.signature));
      if (!c.key_valid) assert.throws(run, (e) => typeof e.code === "string", c.name);
      else assert.equal(run(), c.valid, c.name);
    }
  });
}

test("the scanner package has no holder API", () => {
  assert.equal(scanner.Holder, undefined);
  assert.equal(typeof holderPkg.Holder, "function");
});

test("a holder-built code verifies, once, and goes stale", () => {
  const c = vectors.cases.find((x) => x.name === "accept_metro_gate");
  const s = c.verifier;
  const key = holderPkg.generateDeviceKey("ecdsa_p256_sha256");
  assert.equal(key.secret.length, 32);
  assert.equal(key.public_key.length, 33);
  const sm2 = holderPkg.generateDeviceKey("sm2_sm3");
  assert.equal(sm2.algorithm, "sm2_sm3");
  assert.equal(sm2.public_key.length, 33);
  assert.equal(holderPkg.verifySignature("sm2_sm3", sm2.public_key, new Uint8Array(1), new Uint8Array(64)), false);
  assert.throws(() => scanner.Verifier.prototype.requireGmOnly.call(null), TypeError);
  assert.throws(() => new holderPkg.Holder("AQ", key.secret, "ed25519"), (e) => e.code === "truncated");
  const demo = JSON.parse(readFileSync(path.join(root, "test-vectors", "holder.json"), "utf8"));
  const credential = demo.credential;
  const secret = Uint8Array.from(demo.device_secret.match(/../g).map((b) => parseInt(b, 16)));
  const h = new holderPkg.Holder(credential, secret, demo.device_alg);
  assert.throws(() => new holderPkg.Holder(credential, key.secret, "ecdsa_p256_sha256"), (e) => e.code === "signer");
  const code = h.present(new Uint32Array([4]), c.now, 60);
  assert.match(code.text, /^CC1:\d+$/);
  assert.equal(code.expires_at, c.now + 60);
  assert.equal(code.refresh_in_secs, 30);
  assert.ok(holderPkg.renderQrSvg(code.text).startsWith("<svg"));
  assert.throws(() => h.present(new Uint32Array([9]), c.now), (e) => e.code === "missing_domain");

  const v = new scanner.Verifier(s.root_key, s.root_alg, { kind: "metro_gate" });
  v.loadTrustList(b64(s.trust_lists[0]));
  let clock = c.now + 1;
  v.setClock(() => clock);
  // Fail closed: no revocation list, no acceptance (and no replay slot taken).
  assert.equal(v.verify(code.text).reason, "no_revocation_list");
  v.loadRevocationList(b64(s.revocation_lists[0]));
  assert.deepEqual(v.heldLists().map((l) => l.name), ["trust-list.bin", "revocation-root.bin"]);
  const first = v.verify(code.text + "\r\n");
  assert.equal(first.decision, "accept", JSON.stringify(first));
  assert.equal(first.revocation_checked, true);
  assert.equal(first.claims.transit.fare_class, "senior_free");
  assert.equal(first.claims.transit.vehicle_payment, true); // whole domain: asked by id
  assert.equal(v.verify(code.text).reason, "replayed");
  // For a scene, only what its policy reads: the metro card withholds vehicle payment,
  // the parking card the fare class, and each is refused at the other scene.
  const metro = v.verify(h.presentForScene({ kind: "metro_gate" }, c.now, 60).text);
  assert.equal(metro.decision, "accept", JSON.stringify(metro));
  assert.equal(metro.claims.transit.fare_class, "senior_free");
  assert.ok(!("vehicle_payment" in metro.claims.transit), JSON.stringify(metro.claims));
  const parkingCard = v.verify(h.presentForScene({ kind: "parking" }, c.now, 60).text);
  assert.equal(parkingCard.reason, "policy_unmet", JSON.stringify(parkingCard));
  assert.throws(() => h.presentForScene({ kind: "nowhere" }, c.now), (e) => e.code === "invalid_argument");
  clock = c.now + 200;
  const fresh = new scanner.Verifier(s.root_key, s.root_alg, { kind: "metro_gate" });
  fresh.loadTrustList(b64(s.trust_lists[0]));
  fresh.allowMissingRevocationList();
  fresh.setClock(() => clock);
  assert.equal(fresh.verify(code.text).reason, "code_expired");
  fresh.setClock(() => c.now + 2);
  const unchecked = fresh.verify(h.present(new Uint32Array([4]), c.now, 60).text);
  assert.equal(unchecked.decision, "accept", JSON.stringify(unchecked));
  assert.equal(unchecked.revocation_checked, false);
  v.setClock(() => { throw new Error("no clock"); });
  assert.throws(() => v.verify(code.text), (e) => e.code === "clock");
});

test("holder batch: each instance once, then a refill is due", () => {
  const demo = JSON.parse(readFileSync(path.join(root, "test-vectors", "holder.json"), "utf8"));
  const hex = (t) => Uint8Array.from(t.match(/../g).map((b) => parseInt(b, 16)));
  const batch = new holderPkg.HolderBatch(2);
  assert.throws(() => batch.add(demo.batch[0].credential, hex(demo.batch[1].device_secret), "ed25519"), (e) => e.code === "signer");
  for (const i of demo.batch) batch.add(i.credential, hex(i.device_secret), "ed25519");
  assert.equal(batch.remaining(), 3);
  assert.equal(batch.needsRefill(), false);
  assert.deepEqual(batch.unshown(), demo.batch.map((i) => i.credential));
  const v = new scanner.Verifier(demo.root_key, "ed25519", { kind: "metro_gate" });
  v.loadTrustList(Uint8Array.from(Buffer.from(demo.trust_list, "base64url")));
  v.allowMissingRevocationList();
  v.setClock(() => demo.now);
  const seen = [];
  for (let n = 0; n < 3; n++) {
    const d = v.verify(batch.presentForScene({ kind: "metro_gate" }, demo.now, 60).text);
    assert.equal(d.decision, "accept", JSON.stringify(d));
    seen.push(d.subject);
  }
  assert.deepEqual(seen, demo.batch.map((i) => i.subject));
  assert.equal(batch.remaining(), 0);
  assert.equal(batch.needsRefill(), true);
  assert.throws(() => batch.presentForScene({ kind: "metro_gate" }, demo.now), (e) => e.code === "missing_domain");
});

test("identity: a document number checked against the commitment, never read from the code", () => {
  const demo = JSON.parse(readFileSync(path.join(root, "test-vectors", "holder.json"), "utf8"));
  const { claim, number, wrong_number } = demo.identity;
  assert.equal(scanner.identityMatches(claim, number), true);
  assert.equal(scanner.identityMatches(claim, number.toLowerCase()), true);
  assert.equal(scanner.identityMatches(claim, wrong_number), false);
  assert.throws(() => scanner.identityMatches(claim, "1101-05"), (e) => e.code === "out_of_range");
  assert.throws(() => scanner.identityMatches({ ...claim, salt: "00" }, number), (e) => e.code === "invalid_argument");
  assert.throws(() => scanner.identityMatches({ ...claim, digest: "md5" }, number), (e) => e.code === "invalid_argument");
});

test("lists: rollback refused with a code", () => {
  const c = vectors.cases.find((x) => x.name === "trust_list_rollback");
  const s = c.verifier;
  const v = new scanner.Verifier(s.root_key, s.root_alg, s.scene);
  v.loadTrustList(b64(s.trust_lists[0]));
  assert.throws(() => v.loadTrustList(b64(s.trust_lists[1])), (e) => e.code === "trust_list_rollback");
  assert.throws(() => v.loadTrustList(s.trust_lists[1]), (e) => e.code === "invalid_argument");
  assert.throws(() => v.loadTrustList(new Uint8Array([1, 2, 3])), (e) => e.code === "unsupported_version" || e.code === "truncated");
  assert.throws(() => v.loadTrustList(42), (e) => e.code === "invalid_argument");
  assert.throws(() => new scanner.Verifier("zz", "ed25519", { kind: "hospital" }), (e) => e.code === "invalid_argument");
  assert.throws(() => new scanner.Verifier(s.root_key, "rsa", { kind: "hospital" }), (e) => e.code === "invalid_argument");
  assert.throws(() => new scanner.Verifier(s.root_key, "ed25519", { kind: "zoo" }), (e) => e.code === "invalid_argument");
});

test("hostile input never throws or traps", () => {
  const c = vectors.cases.find((x) => x.name === "accept_metro_gate");
  const s = c.verifier;
  const v = new scanner.Verifier(s.root_key, s.root_alg, s.scene);
  v.loadTrustList(b64(s.trust_lists[0]));
  let seed = 20261125;
  const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  for (let i = 0; i < 3000; i++) {
    const n = rand(600);
    let text;
    if (i % 3 === 0) text = "CC1:" + Array.from({ length: n }, () => rand(10)).join("");
    else if (i % 3 === 1) text = String.fromCharCode(...Array.from({ length: n }, () => 1 + rand(0x2fff)));
    else { const p = 4 + rand(c.input.length - 4); text = c.input.slice(0, p) + String(rand(10)) + c.input.slice(p + 1); }
    const d = v.verify(text, c.now);
    assert.ok(d.decision !== "accept" || text === c.input, text);
    const bytes = new Uint8Array(n).map(() => rand(256));
    for (const load of [() => v.loadTrustList(bytes), () => v.loadRevocationList(bytes)]) {
      try { load(); } catch (e) { assert.equal(typeof e.code, "string", String(e)); }
    }
  }
});
