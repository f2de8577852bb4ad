//! The free-text rule: whatever is accepted holds no control or bidirectional-formatting
//! character, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackgate_core::validate::{forbidden_char, multiline_text, name, text};

fuzz_target!(|value: &str| {
    if text("field", value, 1000).is_ok() {
        assert!(!value.chars().any(|c| forbidden_char(c, false)));
    }
    if multiline_text("field", value, 1000).is_ok() {
        assert!(!value.chars().any(|c| forbidden_char(c, true)));
    }
    if name("stack", value).is_ok() {
        assert!(value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
    }
});
