// The package's Node entry: the module is instantiated from the package's own .wasm
// file, synchronously, so Node needs no fetch and no init() call. verifyAsync checks
// P-256 signatures with node:crypto, synchronously in native code (Node's WebCrypto
// answers the same several times later, through its thread pool).
import { readFileSync } from "node:fs";
import { createPublicKey, verify } from "node:crypto";
import { initSync } from "./citycode_wasm.js";
import { keyCache, setHostEcdsa } from "./webcrypto.js";

initSync({ module: readFileSync(new URL("./citycode_wasm_bg.wasm", import.meta.url)) });

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const nodeKey = keyCache((raw) =>
  createPublicKey({ format: "jwk", key: { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) } }));
setHostEcdsa((check) =>
  verify("sha256", check.message, { key: nodeKey(check.publicKey), dsaEncoding: "ieee-p1363" }, check.signature));

export * from "./citycode_wasm.js";
