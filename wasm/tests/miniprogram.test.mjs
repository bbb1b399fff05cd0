// The holder package as a mini-program loads it: fetch, TextEncoder, TextDecoder,
// WebAssembly.instantiateStreaming and the WebAssembly global itself removed, and the
// module instantiated from a path (the brotli .wasm.br) through a WXWebAssembly-shaped
// shim. Runs in a child process so the removed globals stay removed for it alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const mp = path.join(root, "target", "wasm-pkg", "miniprogram");
const demo = JSON.parse(readFileSync(path.join(root, "test-vectors", "holder.json"), "utf8"));
const metro = JSON.parse(readFileSync(path.join(root, "test-vectors", "codes.json"), "utf8")).cases.find(
  (c) => c.name === "accept_metro_gate",
);

const program = `
  import { readFileSync } from "node:fs";
  import { brotliDecompressSync } from "node:zlib";
  import path from "node:path";
  const wasmApi = globalThis.WebAssembly;
  for (const name of ["fetch", "TextEncoder", "TextDecoder", "WebAssembly"]) delete globalThis[name];
  const opened = [];
  // WeChat's API: a path inside the package (.wasm or .wasm.br) and the imports; nothing else.
  globalThis.WXWebAssembly = {
    instantiate(wasmPath, imports) {
      if (typeof wasmPath !== "string" || !/\\.wasm(\\.br)?$/.test(wasmPath)) throw new TypeError("a path, please");
      opened.push(wasmPath);
      const file = readFileSync(path.join(${JSON.stringify(mp)}, wasmPath));
      return wasmApi.instantiate(wasmPath.endsWith(".br") ? brotliDecompressSync(file) : file, imports);
    },
  };
  const { load } = await import(${JSON.stringify(pathToFileURL(path.join(mp, "miniprogram.js")).href)});
  const cc = await load("/citycode_wasm_bg.wasm.br");
  const d = ${JSON.stringify(demo)};
  const secret = Uint8Array.from(d.device_secret.match(/../g).map((b) => parseInt(b, 16)));
  const holder = new cc.Holder(d.credential, secret, d.device_alg);
  const code = holder.presentForScene({ kind: "metro_gate" }, ${metro.now}, 60);
  const s = ${JSON.stringify(metro.verifier)};
  const v = new cc.Verifier(s.root_key, s.root_alg, s.scene);
  const b64 = (t) => Uint8Array.from(atob(t.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  for (const l of s.trust_lists) v.loadTrustList(b64(l));
  for (const l of s.revocation_lists) v.loadRevocationList(b64(l), ${metro.now});
  const verdict = v.verify(code.text, ${metro.now} + 1);
  // Strings both ways through the polyfill, beyond ASCII.
  const chinese = v.verify("码 CC1:12", ${metro.now});
  let thrown;
  try { new cc.Verifier("zz", "ed25519", { kind: "hospital" }); } catch (e) { thrown = e.detail; }
  console.log(JSON.stringify({ opened, accepted: verdict.decision === "accept", fare: verdict.claims?.transit?.fare_class,
    chinese: chinese.reason, thrown, hasTextDecoder: typeof TextDecoder, key: cc.generateDeviceKey("sm2_sm3").public_key.length }));
`;

test("the holder package loads and works in a WeChat-like runtime", () => {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8" });
  const r = JSON.parse(out);
  assert.deepEqual(r.opened, ["/citycode_wasm_bg.wasm.br"]);
  assert.equal(r.accepted, true);
  assert.equal(r.fare, "senior_free");
  assert.equal(r.chinese, "text_prefix");
  assert.equal(r.thrown, "root key is not hex");
  assert.equal(r.hasTextDecoder, "function"); // the polyfill's
  assert.equal(r.key, 33);
});

test("the UTF-8 polyfill agrees with Node's TextEncoder and TextDecoder", async () => {
  const native = { TextEncoder: globalThis.TextEncoder, TextDecoder: globalThis.TextDecoder };
  const samples = ["", "CC1:0031", "码 一码通 ✓", "🚇 metro", "\\ud800 lone", "é\\u0000z"];
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", `
    delete globalThis.TextEncoder; delete globalThis.TextDecoder;
    await import(${JSON.stringify(pathToFileURL(path.join(mp, "text-codec.js")).href)});
    const samples = ${JSON.stringify(samples)};
    const enc = samples.map((s) => Array.from(new TextEncoder().encode(s)));
    const bad = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xc3, 0xa9]];
    const dec = bad.map((b) => new TextDecoder("utf-8").decode(Uint8Array.from(b)));
    const view = new Uint8Array(4);
    const into = new TextEncoder().encodeInto("a码b", view);
    console.log(JSON.stringify({ enc, dec, into, view: Array.from(view) }));`], { encoding: "utf8" });
  const r = JSON.parse(out);
  assert.deepEqual(r.enc, samples.map((s) => Array.from(new native.TextEncoder().encode(s))));
  const bad = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x61, 0xc3, 0xa9]];
  assert.deepEqual(r.dec.map((s) => s.replace(/\ufffd+/g, "?")), bad.map((b) => new native.TextDecoder().decode(Uint8Array.from(b)).replace(/\ufffd+/g, "?")));
  assert.deepEqual(r.into, { read: 2, written: 4 });
  assert.deepEqual(r.view, [0x61, 0xe7, 0xa0, 0x81]);
});
