// The holder package in a mini-program (WeChat, Alipay): no fetch, no TextEncoder or
// TextDecoder, and the module is instantiated from a path inside the mini-program's own
// package (`WXWebAssembly.instantiate(path, imports)`, which also takes a brotli
// `.wasm.br`). Copy this folder into the mini-program and:
//
//   import { load } from "./citycode/miniprogram.js";
//   const citycode = await load("/citycode/citycode_wasm_bg.wasm.br");
//   const holder = new citycode.Holder(credential, secret, "ecdsa_p256_sha256");
import "./text-codec.js";
import * as citycode from "./citycode_wasm.js";

/**
 * Instantiates the module from `wasmPath` and returns the package's API.
 * `instantiate(path, imports)` is the host's: WeChat's `WXWebAssembly.instantiate` by
 * default; pass another runtime's equivalent (resolving to `{ instance }`) where it
 * differs.
 */
export async function load(wasmPath, instantiate = hostInstantiate()) {
  const { instance } = await instantiate(wasmPath, citycode.__wbg_get_imports());
  citycode.__wbg_finalize_init(instance, undefined);
  return citycode;
}

function hostInstantiate() {
  if (typeof WXWebAssembly !== "undefined") return (path, imports) => WXWebAssembly.instantiate(path, imports);
  throw new Error("no WXWebAssembly here: pass load(path, instantiate) for this runtime");
}
