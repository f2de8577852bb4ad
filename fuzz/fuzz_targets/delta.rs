//! Delta checkpoints: any delta body applied to any base text is a new text whose hash
//! matched, or a 400 — never a panic or an out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackgate_core::state_body::apply_delta;

fuzz_target!(|input: (&[u8], &[u8])| {
    let (base, body) = input;
    if let Ok((text, _)) = apply_delta(base, body) {
        assert!(
            text.len() <= base.len() + body.len(),
            "a delta cannot add more than it carries"
        );
    }
});
