//! Access-token values: generation, the offline format check, and hashing.
//!
//! A value is `pul-` + 32 random lowercase hex characters + the CRC-32 (IEEE) of those 32
//! characters as 8 lowercase hex digits. The check part lets the server refuse a mistyped
//! or made-up value before any database lookup. Values are held in [`TokenValue`], which
//! has no `Debug`/`Display`, so one cannot reach a log line or error message by accident;
//! only [`TokenHash`] (SHA-256 hex) is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "pul-";
const RANDOM_HEX: usize = 32;
const CHECK_HEX: usize = 8;

/// A token value as shown to its owner once. Deliberately not `Debug` or `Display`.
pub struct TokenValue(String);

impl TokenValue {
    /// A fresh value from the OS CSPRNG.
    pub fn generate() -> TokenValue {
        let mut bytes = [0u8; RANDOM_HEX / 2];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let random = hex::encode(bytes);
        let check = crc32fast::hash(random.as_bytes());
        TokenValue(format!("{PREFIX}{random}{check:08x}"))
    }

    /// Parses a presented value, checking its shape and check digits. `None` when the
    /// value cannot be one of ours (answered 401 without a lookup).
    pub fn parse(presented: &str) -> Option<TokenValue> {
        let body = presented.strip_prefix(PREFIX)?;
        if body.len() != RANDOM_HEX + CHECK_HEX
            || !body
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let (random, check) = body.split_at(RANDOM_HEX);
        // `check` is 8 lowercase hex digits (checked above), so it parses.
        let check = u32::from_str_radix(check, 16).ok()?;
        (check == crc32fast::hash(random.as_bytes())).then(|| TokenValue(presented.to_string()))
    }

    /// The value itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the value: what the verification cache is keyed by.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.as_bytes()).into())
    }

    /// SHA-256 hex of the value: what the database stores.
    pub fn hash(&self) -> TokenHash {
        self.digest().hash()
    }
}

/// SHA-256 of a token value as bytes (no hex encoding on the cache-hit path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(self.0))
    }
}

/// SHA-256 hex of a token value: what the database stores.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_have_the_documented_shape_and_parse_back() {
        for _ in 0..100 {
            let v = TokenValue::generate();
            let s = v.expose();
            assert_eq!(s.len(), 44);
            assert!(s.starts_with("pul-"));
            assert!(s[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert!(TokenValue::parse(s).is_some());
        }
    }

    #[test]
    fn check_part_is_crc32_of_the_random_part() {
        let random = "0123456789abcdef0123456789abcdef";
        let check = format!("{:08x}", crc32fast::hash(random.as_bytes()));
        let value = format!("pul-{random}{check}");
        assert!(TokenValue::parse(&value).is_some());
        // One flipped check digit is refused.
        let mut bad = value.clone();
        let last = if value.ends_with('0') { "1" } else { "0" };
        bad.replace_range(value.len() - 1.., last);
        assert!(TokenValue::parse(&bad).is_none());
    }

    #[test]
    fn malformed_values_are_refused() {
        let good = TokenValue::generate();
        let g = good.expose();
        for bad in [
            "",
            "pul-",
            &g[..43],
            &format!("{g}0"),
            &g.to_uppercase(),
            &g.replace("pul-", "pat-"),
            "pul-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        ] {
            assert!(TokenValue::parse(bad).is_none(), "{bad} accepted");
        }
    }

    #[test]
    fn hash_is_sha256_hex_of_the_value() {
        // Known answer (python3: hashlib.sha256(value.encode()).hexdigest()).
        let v = TokenValue::parse("pul-0123456789abcdef0123456789abcdef7759b50e")
            .expect("a valid value");
        let want = "7a5f04d797550a11b3a0d165332f2e531d07a592fa40ae5484cc57d393c05659";
        assert_eq!(v.hash(), TokenHash(want.to_string()));
        // The cache key is the same digest, as bytes.
        assert_eq!(hex::encode(v.digest().0), want);
    }
}
