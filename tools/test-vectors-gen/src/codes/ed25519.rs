//! What separates the cofactored equation, and the strict checks (SPEC.md §4.2).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let odd = [
        (
            "device_signature_r_with_torsion",
            "R has a component of order 8 (k computed over it): valid under the cofactored equation, which every verifier and batch verification use.",
            Torsion::MixedR,
            "accept",
        ),
        (
            "device_signature_small_order_r",
            "R of order 8 and S = k·a: the cofactored equation holds, but a small-order R is refused.",
            Torsion::SmallOrderR,
            "bad_device_signature",
        ),
        (
            "device_signature_s_not_reduced",
            "A valid signature with S + L for S: the equation holds, but S must be below L.",
            Torsion::UnreducedS,
            "bad_device_signature",
        ),
    ];
    for (i, (name, description, how, expected)) in odd.into_iter().enumerate() {
        let c = g.code_with_odd_device_signature(at, 0xa0 + i as u8, how)?;
        g.add(name, description, c, expected, later, g.setup(metro()), vec![])?;
    }
    Ok(())
}
