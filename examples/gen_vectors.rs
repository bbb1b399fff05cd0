//! Writes test-vectors/ from fixed seeds and a fixed clock (the generator is the
//! `test-vectors-gen` crate): `cargo run -p citycode --example gen_vectors`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors");
    for (name, content) in test_vectors_gen::render()? {
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
        println!("wrote test-vectors/{name}");
    }
    Ok(())
}
