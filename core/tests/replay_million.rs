//! The replay guard holds 1,000,000 distinct codes in bounded memory, never lets a
//! replay through inside the window, and refuses (never forgets) when full.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use citycode::{ReplayError, ReplayGuard, ReplayStore};
use peak_alloc::PeakAlloc;

// Counts every allocation of this test binary, so the guard's own memory_bytes() is
// checked against what the allocator actually holds.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn id(n: u64) -> [u8; 16] {
    // Distinct ids shaped like SHA-256 output: spread n over all bytes.
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    out
}

#[test]
fn a_million_codes_in_bounded_memory_and_no_replay_slips_through() {
    const N: u64 = 1_000_000;
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let guard = ReplayGuard::new(N as usize);
    let now = 1_795_593_600;
    for n in 0..N {
        // Expiries spread over the 90-second window.
        assert_eq!(guard.check_and_insert(&id(n), now + 1 + n % 90, now), Ok(()), "code {n}");
    }
    assert_eq!(guard.len(), N as usize);
    let bytes = guard.memory_bytes();
    let (live, peak) = (ALLOCATOR.current_usage() - before, ALLOCATOR.peak_usage() - before);
    let per_entry = |b: usize| b as f64 / N as f64;
    println!(
        "replay guard: {N} codes, memory_bytes {bytes} ({:.1} per entry), allocator live {live} ({:.1}), peak {peak} ({:.1})",
        per_entry(bytes),
        per_entry(live),
        per_entry(peak)
    );
    // memory_bytes() is what the allocator holds for the guard (within 64 bytes: the
    // mutex and allocator bookkeeping are not counted).
    assert!(live.abs_diff(bytes) <= 64, "memory_bytes {bytes}, allocator {live}");
    assert!(per_entry(live) < 40.0 && per_entry(peak) < 48.0, "live {live}, peak {peak}");
    // Every code replayed inside its window is refused.
    for n in (0..N).step_by(997) {
        assert_eq!(guard.check_and_insert(&id(n), now + 90, now), Err(ReplayError::Replayed), "code {n}");
    }
    // Full: a new code is refused rather than an old one forgotten.
    assert_eq!(guard.check_and_insert(&id(N), now + 90, now), Err(ReplayError::Full));
    // When the first third expires, their slots are reused and memory does not grow.
    let later = now + 31;
    for n in N..N + 300_000 {
        assert_eq!(guard.check_and_insert(&id(n), later + 90, later), Ok(()), "code {n}");
    }
    assert!(guard.len() <= N as usize);
    assert!(guard.memory_bytes() <= bytes, "memory grew after expiry");
}
