//! criterion benches of the printed card: loading the card font once (read and parse a
//! 20 MB collection), then each card as PDF (subset, set, deflate) and as SVG, for
//! the demo resident's printed code (identity, health, insurance: QR version 8).
//! `cargo bench -p citycode --features pdf --bench print_card` (needs Debian's
//! fonts-noto-cjk, or `CITYCODE_CARD_FONT`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;

use citycode::claims::{Claims, Health, HealthStatus, InsuranceStatus, MedicalInsurance};
use citycode::demo::{self, DemoCity};
use citycode::print_card::{CardFont, DEFAULT_FONT_PATH, printed_card_pdf, printed_card_svg};
use citycode::*;
use criterion::{Criterion, criterion_group, criterion_main};

fn benches(c: &mut Criterion) {
    let path = std::env::var_os("CITYCODE_CARD_FONT").map_or_else(|| PathBuf::from(DEFAULT_FONT_PATH), PathBuf::from);
    if !path.exists() {
        eprintln!("skipped: no card font at {} (install fonts-noto-cjk)", path.display());
        return;
    }
    let city = DemoCity::new().unwrap();
    let claims = Claims {
        health: Some(Health { status: HealthStatus::Green, valid_until_day: demo::TODAY + 179 }),
        medical_insurance: Some(MedicalInsurance { region: None, status: Some(InsuranceStatus::Active) }),
        identity: Some(demo::resident_identity().unwrap()),
        ..Claims::default()
    };
    let code = city
        .issuer
        .issue_printed(Subject([0x95; 8]), &claims, demo::TODAY, PRINTED_MAX_DAYS, PRINTED_MAX_DAYS)
        .unwrap();
    let font = CardFont::from_file(&path, None).unwrap();
    let pdf = printed_card_pdf(&code, &font).unwrap();
    let svg = printed_card_svg(&code).unwrap();
    eprintln!(
        "QR version {}; PDF {} bytes, SVG {} bytes",
        Qr::new(&code.to_text()).unwrap().version,
        pdf.len(),
        svg.len()
    );
    c.bench_function("card_font_load", |b| b.iter(|| CardFont::from_file(black_box(&path), None).unwrap()));
    c.bench_function("printed_card_pdf", |b| b.iter(|| printed_card_pdf(black_box(&code), &font).unwrap()));
    c.bench_function("printed_card_svg", |b| b.iter(|| printed_card_svg(black_box(&code)).unwrap()));
}

criterion_group!(name = all; config = Criterion::default().sample_size(20); targets = benches);
criterion_main!(all);
