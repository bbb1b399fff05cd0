//! `citycode-verify-server --root-key HEX --trust-list FILE [--revocation-list FILE]...
//! [--scene metro-gate] [--redis redis://127.0.0.1:6379/] [--listen 127.0.0.1:8080]`

use std::path::PathBuf;
use std::sync::Arc;

use citycode::{Algorithm, PublicKey, Scene, Verifier};
use clap::Parser;

#[derive(Parser)]
#[command(about = "HTTP verification service: POST /verify {\"text\"}, POST /verify/batch {\"texts\"}")]
struct Args {
    /// Root public key (Ed25519), hex.
    #[arg(long)]
    root_key: String,
    /// Signed trust list file.
    #[arg(long)]
    trust_list: PathBuf,
    /// Signed revocation list files.
    #[arg(long)]
    revocation_list: Vec<PathBuf>,
    /// Scene: hospital, parking or metro-gate.
    #[arg(long, default_value = "metro-gate")]
    scene: String,
    /// Share the replay store with other instances through this Redis.
    #[arg(long)]
    redis: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let root = PublicKey::from_bytes(Algorithm::Ed25519, &citycode::text::unhex(&args.root_key)?)?;
    let scene = match args.scene.as_str() {
        "hospital" => Scene::Hospital,
        "parking" => Scene::Parking,
        "metro-gate" => Scene::MetroGate,
        other => return Err(format!("unknown scene {other}").into()),
    };
    let mut v = Verifier::new(root, scene);
    if let Some(url) = &args.redis {
        v = v.with_replay_store(Arc::new(citycode::RedisReplayStore::new(url)?));
    }
    v.load_trust_list(&std::fs::read(&args.trust_list)?)?;
    for path in &args.revocation_list {
        v.load_revocation_list(&std::fs::read(path)?)?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, citycode_verify_server::router(Arc::new(v)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
