//! `citycode`: the operator's tool for keys, trust and revocation lists, credentials,
//! codes and QR images. JSON in and out; exit codes: 0 success (or accept), 1 the code
//! was rejected, 2 bad input or usage, 3 a file could not be read or written.
//!
//! This file holds the command line and its dispatch; each command is one function in
//! the module of its group (`keys`, `lists`, `issue`, `codes`), and what they share is in
//! `common`.

mod codes;
mod common;
mod issue;
mod keys;
mod lists;
mod replay_store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::common::{Failure, Result};

const EXAMPLES: &str = "Examples:
  citycode demo
  citycode keygen --kind root --out root.json
  citycode keygen --kind issuer --out issuer.json
  citycode keygen --kind root --token root-token.toml
  citycode keygen --kind device --alg ecdsa_p256_sha256 --out device.json
  citycode trust-list sign --root root.json --spec trust.json --out trust.bin
  citycode trust-list sign --root token:root-token.toml --spec trust.json --out trust.bin
  citycode trust-list inspect --root root.json trust.bin
  citycode issue --issuer issuer.json --kid 1 --device device.json --claims claims.json --out credential.txt
  citycode present --credential credential.txt --device device.json --scene metro_gate
  citycode verify --root root.json --trust-list trust.bin --revocation-list revocations.bin --scene metro_gate CC1:0031...
  citycode render CC1:0031... --format png --out code.png
  citycode verify --root root.json --trust-list trust.bin --revocation-list revocations.bin --scene metro_gate --image code.png
  citycode inspect CC1:0031...
  citycode publish --root root.json --trust-list trust.bin --revocation-list revocations.bin --out public/
  citycode lists --root root.json --dir public/";

#[derive(Parser)]
#[command(name = "citycode", version, about = "Issue, present, verify and render citycode city codes", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the end-to-end story on embedded demo keys: issue, present at four scenes, verify.
    Demo(codes::DemoArgs),
    /// Generate a root, issuer or device key into a new file (mode 0600), or a root or
    /// issuer key inside a PKCS#11 token (--token), which prints only its public key.
    Keygen(keys::KeygenArgs),
    /// Build, sign and inspect trust lists.
    #[command(subcommand)]
    TrustList(lists::TrustListCommand),
    /// Publish signed lists for verifiers to fetch: copies them under their fixed names
    /// into a directory any static web server can serve, with status.bin, a root-signed
    /// index of their sequences, expiries and digests (SPEC.md §8.4).
    Publish(lists::PublishArgs),
    /// Sign a revocation list with the root key, or an issuer key (--issuer-kid).
    Revoke(lists::RevokeArgs),
    /// Issue a printed code (SPEC.md §5.1) for a resident with no phone: claims JSON with
    /// identity, valid up to 180 days. Prints its QR text and subject (revoke the subject
    /// of the previous code when reissuing).
    IssuePrinted(issue::IssuePrintedArgs),
    /// Render a printed code as its A6 card for printing: the symbol, the masked name and
    /// the validity dates.
    RenderCard(issue::RenderCardArgs),
    /// The identity claim for a claims JSON (SPEC.md §4.3): the name and a commitment,
    /// with a fresh salt, to the identity document's number, which it never holds.
    Identity(keys::IdentityArgs),
    /// Check an identity document's number against a verdict's or a claims file's
    /// identity (JSON `{"name", "digest", "salt", "commitment"}`); exit 0 if it matches, 1 if not.
    CheckId(keys::CheckIdArgs),
    /// Issue a credential for a device key from a claims JSON. A `guardian` member
    /// (`{"relation": "child"}`) issues a dependant's credential to a guardian's device
    /// key (SPEC.md §4.9).
    Issue(issue::IssueArgs),
    /// The holder's side of issuance: sign the issuer's challenge with the device key
    /// (SPEC.md §4.7) and print the key request to send.
    KeyRequest(keys::KeyRequestArgs),
    /// Build a code from a credential and device key.
    Present(codes::PresentArgs),
    /// Verify a code: exit 0 and the claims if accepted, exit 1 and the reason if not.
    Verify(codes::VerifyArgs),
    /// Render a code as a QR image: SVG, PNG or terminal text.
    Render(codes::RenderArgs),
    /// Show what a code contains WITHOUT verifying it.
    Inspect(codes::InspectArgs),
    /// Load signed lists as a terminal would (a published directory, or list files) and
    /// print what the verifier then holds and whether it would accept codes now: exit 0
    /// if ready, 1 with the reason if not.
    Lists(lists::ListsArgs),
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo(args) => codes::demo(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::TrustList(command) => lists::trust_list(command),
        Command::Publish(args) => lists::publish(args),
        Command::Revoke(args) => lists::revoke(args),
        Command::IssuePrinted(args) => issue::issue_printed(args),
        Command::RenderCard(args) => issue::render_card(args),
        Command::Identity(args) => keys::identity(args),
        Command::CheckId(args) => keys::check_id(args),
        Command::Issue(args) => issue::issue(args),
        Command::KeyRequest(args) => keys::key_request(args),
        Command::Present(args) => codes::present(args),
        Command::Verify(args) => codes::verify(args),
        Command::Render(args) => codes::render(args),
        Command::Inspect(args) => codes::inspect(args),
        Command::Lists(args) => lists::lists(args),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected) => ExitCode::from(1),
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Io(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(3)
        }
    }
}
