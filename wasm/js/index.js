// The package's entry for browsers and bundlers: the wasm-bindgen module (call the
// default export, `init`, once before use) with Verifier.prototype.verifyAsync.
import "./webcrypto.js";

export * from "./citycode_wasm.js";
export { default } from "./citycode_wasm.js";
