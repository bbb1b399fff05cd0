//! A day in the city: issue a credential, then show codes at a hospital, a scenic
//! spot, a parking lot and a metro gate; then a replayed code, an expired screenshot and
//! a policy rejection. Runs on the embedded demo keys and a fixed clock.
//!
//! `cargo run --example city_day` (add `-- --no-qr` to skip drawing the symbols).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let draw = !std::env::args().any(|a| a == "--no-qr");
    citycode_demo::story(&mut std::io::stdout().lock(), draw)
}
