// UTF-8 TextEncoder / TextDecoder for hosts that lack them (WeChat's and Alipay's
// mini-program runtimes): installed on globalThis only where missing, before the
// wasm-bindgen glue, which creates one of each when it loads.
function encodeUtf8(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

function decodeUtf8(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xf0 && b < 0xf5 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
    let c = need === 0 ? b : need === 1 ? b & 31 : need === 2 ? b & 15 : b & 7;
    let ok = need >= 0 && i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const n = bytes[i + k];
      if (n === undefined || (n & 0xc0) !== 0x80) ok = false;
      else c = (c << 6) | (n & 63);
    }
    const min = [0, 0x80, 0x800, 0x10000][need] ?? 0;
    if (!ok || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
      s += "\ufffd";
      i += 1;
      continue;
    }
    s += String.fromCodePoint(c);
    i += need + 1;
  }
  return s;
}

if (typeof globalThis.TextEncoder === "undefined") {
  globalThis.TextEncoder = class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(text = "") { return encodeUtf8(String(text)); }
    encodeInto(text, view) {
      const bytes = encodeUtf8(String(text));
      // Whole characters only: never split a multi-byte sequence at the end.
      let written = Math.min(bytes.length, view.length);
      while (written < bytes.length && written > 0 && (bytes[written] & 0xc0) === 0x80) written--;
      view.set(bytes.subarray(0, written));
      const read = decodeUtf8(bytes.subarray(0, written)).length;
      return { read, written };
    }
  };
}

if (typeof globalThis.TextDecoder === "undefined") {
  globalThis.TextDecoder = class TextDecoder {
    constructor(label = "utf-8") {
      if (!/^utf-?8$/i.test(label)) throw new RangeError(`only UTF-8 is supported, not ${label}`);
    }
    get encoding() { return "utf-8"; }
    decode(bytes) { return bytes === undefined ? "" : decodeUtf8(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes)); }
  };
}
