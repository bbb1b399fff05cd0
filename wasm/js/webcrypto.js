// Verifier.prototype.verifyAsync: P-256 signatures through the host's native ECDSA
// (WebCrypto in browsers; node:crypto in Node, set by node.mjs), where this package's
// WASM arithmetic is several times slower. The WASM side still parses the code, applies
// every rule and every structural check of SPEC.md §4.2, and names the exact (key,
// message, signature) triples for the host; an answer counts only for the triple it
// names, and whatever the host did not verify is checked in WASM. Without a native
// ECDSA (an insecure http: page, a mini-program runtime) everything runs in WASM.
// Decisions are identical either way (the tests run every vector each way).
import { Verifier } from "./citycode_wasm.js";

/** A bounded map from key bytes to what `make` builds from them (an imported key):
 * issuer keys come back with every code. The oldest entry leaves first. */
export function keyCache(make, capacity = 256) {
  const keys = new Map();
  return (raw) => {
    const id = String.fromCharCode.apply(null, raw);
    let key = keys.get(id);
    if (key === undefined) {
      key = make(raw);
      keys.set(id, key);
      if (keys.size > capacity) keys.delete(keys.keys().next().value);
    }
    return key;
  };
}

const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };
const webCryptoKey = keyCache((raw) =>
  globalThis.crypto.subtle.importKey("raw", raw, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]));

async function webCrypto(check) {
  const subtle = globalThis.crypto.subtle;
  return subtle.verify(ECDSA_SHA256, await webCryptoKey(check.publicKey), check.signature, check.message);
}

let nativeHost;

/** Replaces WebCrypto as the host's ECDSA P-256 / SHA-256: `verify(check)` returns (a
 * promise of) whether the check's signature verifies. */
export function setHostEcdsa(verify) {
  nativeHost = verify;
}

Verifier.prototype.verifyAsync = async function verifyAsync(text, nowUnix) {
  const host = nativeHost ?? (globalThis.crypto?.subtle ? webCrypto : undefined);
  const checks = host ? this.p256Checks(text) : [];
  const verified = await Promise.all(checks.map(async (c) => {
    try {
      return (await host(c)) === true;
    } catch {
      return false; // checked in WASM instead
    }
  }));
  return this.verifyHostChecked(text, nowUnix, checks.filter((_, i) => verified[i]));
};
