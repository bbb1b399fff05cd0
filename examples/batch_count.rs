//! Verifies 64 codes of distinct holders one by one or batched, once, for instruction
//! counting: `valgrind --tool=callgrind target/release/examples/batch_count single|batch`
//! (BENCHMARKS.md). Setup (issuing, presenting) is the same in both modes.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use citycode::demo::{self, DemoCity};
    use citycode::*;
    let mode = std::env::args().nth(1).unwrap_or_default();
    let city = DemoCity::new()?;
    let mut codes = Vec::new();
    for i in 0..64u8 {
        let (device, cred) = city.resident(i)?;
        codes.push(present(&cred, &device, &[4], demo::NOW, PresentOptions::default())?.to_text());
    }
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let mut v = Verifier::new(city.root.public_key(), Scene::MetroGate).with_credential_cache(0);
    v.load_trust_list(&city.trust_list)?;
    let accepted = match mode.as_str() {
        "single" => refs.iter().filter(|t| v.verify_at(t, demo::NOW).is_ok()).count(),
        "batch" => v.verify_batch_at(&refs, demo::NOW).iter().filter(|r| r.is_ok()).count(),
        "setup" => 64,
        _ => return Err("usage: batch_count single|batch|setup".into()),
    };
    if accepted != 64 {
        return Err(format!("only {accepted} accepted").into());
    }
    Ok(())
}
