// The package's Node entry: the module is instantiated from the package's own .wasm
// file, synchronously, so Node needs no fetch and no init() call.
import { readFileSync } from "node:fs";
import { initSync } from "./citycode_wasm.js";

initSync({ module: readFileSync(new URL("./citycode_wasm_bg.wasm", import.meta.url)) });

export * from "./citycode_wasm.js";
