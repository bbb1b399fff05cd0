//! Text bounds (SPEC.md §6).

use crate::prelude::*;

/// Adds the cases of this section.
pub(crate) fn cases(g: &mut Gen) -> Res<()> {
    let at = NOW;
    let later = at + 2;
    let text_cases = [
        ("text_empty_payload", "The prefix and nothing else.", "CC1:".to_string(), "text_encoding"),
        (
            "text_at_max_length",
            "Exactly 7,089 bytes: not too long, but 7,085 digits is no valid length.",
            format!("CC1:{}", "0".repeat(MAX_TEXT_LEN - 4)),
            "text_encoding",
        ),
        (
            "text_at_max_length_with_lf",
            "7,089 bytes and a scanner's LF: the terminator is removed before the length is checked.",
            format!("CC1:{}\n", "0".repeat(MAX_TEXT_LEN - 4)),
            "text_encoding",
        ),
    ];
    for (name, description, input, expected) in text_cases {
        g.add(name, description, input, expected, later, g.setup(metro()), vec![])?;
    }
    Ok(())
}
