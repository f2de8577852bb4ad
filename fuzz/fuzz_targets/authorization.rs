//! The `Authorization` header: any text is accepted as a token value or refused with an
//! error, never a panic; an accepted value is a well-formed token.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    if let Ok(value) = stackgate_core::auth::parse_authorization(Some(header)) {
        let digest = value.digest();
        assert_eq!(digest, value.digest(), "hashing is deterministic");
        assert!(
            header.contains("pul-"),
            "accepted without a token: {header:?}"
        );
    }
});
