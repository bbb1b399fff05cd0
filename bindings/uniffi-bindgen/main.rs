//! The in-repo UniFFI binding generator, pinned to the scaffolding's exact version.
//!
//! `cargo run -p uniffi-bindgen -- generate --library target/debug/libcitycode_ffi.so
//! --language kotlin --out-dir out/`

fn main() {
    uniffi::uniffi_bindgen_main()
}
