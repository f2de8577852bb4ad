//! Input rules shared by every entry point (API, console, CLI): names, free text, token
//! expiry (unix seconds, 0 = never, in the future and at most [`MAX_TOKEN_DAYS`] ahead,
//! and within an org's maximum token lifetime when it sets one) and page sizes.

use stackgate_store::Timestamp;

use crate::error::{CoreError, CoreResult};

/// Longest token lifetime accepted at creation.
pub const MAX_TOKEN_DAYS: i64 = 730;
const DAY: i64 = 86_400;

/// Org, project, stack, team and user names: `[A-Za-z0-9_.-]`, 1–100 chars, not `.`/`..`.
pub fn name(kind: &str, value: &str) -> CoreResult<()> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::bad_request(format!(
            "invalid {kind} name: use 1-100 characters of A-Z, a-z, 0-9, '_', '.', '-' (not '.' or '..')"
        )))
    }
}

/// Org and team token names: `[A-Za-z0-9_-]`, 1–40 chars.
pub fn token_name(value: &str) -> CoreResult<()> {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::bad_request(
            "invalid token name: use 1-40 characters of A-Z, a-z, 0-9, '_', '-'",
        ))
    }
}

/// Characters no free text may hold: C0 and C1 control characters and DEL (a newline
/// only where the text may span lines), and the Unicode characters that make text display
/// other than it is — bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), directional marks (U+200E, U+200F, U+061C) and the line and paragraph
/// separators (U+2028, U+2029). One rule for every free-text field and tag.
pub fn forbidden_char(c: char, multiline: bool) -> bool {
    (c.is_control() && !(multiline && c == '\n'))
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

fn free_text(kind: &str, value: &str, max: usize, multiline: bool) -> CoreResult<()> {
    if value.chars().count() > max {
        return Err(CoreError::bad_request(format!(
            "{kind} is too long (at most {max} characters)"
        )));
    }
    match value.chars().find(|c| forbidden_char(*c, multiline)) {
        None => Ok(()),
        Some(c) => Err(CoreError::bad_request(format!(
            "{kind} must not contain control or bidirectional-formatting characters (found U+{:04X})",
            u32::from(c)
        ))),
    }
}

/// One-line free text (display names, names, emails) with a length cap; see
/// [`forbidden_char`].
pub fn text(kind: &str, value: &str, max: usize) -> CoreResult<()> {
    free_text(kind, value, max, false)
}

/// Free text that may span lines (descriptions): [`text`], newlines allowed.
pub fn multiline_text(kind: &str, value: &str, max: usize) -> CoreResult<()> {
    free_text(kind, value, max, true)
}

/// A token expiry: 0 (never) or a unix time in the future, at most 730 days ahead; with an
/// org cap of `cap_days`, a finite expiry within the cap is required.
pub fn expires(value: Timestamp, now: Timestamp, cap_days: Option<u32>) -> CoreResult<()> {
    if value < 0 {
        return Err(CoreError::bad_request(
            "expires must be 0 (never) or a unix time",
        ));
    }
    if value != 0 && value <= now {
        return Err(CoreError::bad_request("expires must be in the future"));
    }
    if value > now + MAX_TOKEN_DAYS * DAY {
        return Err(CoreError::bad_request(format!(
            "expires must be at most {MAX_TOKEN_DAYS} days ahead"
        )));
    }
    if let Some(cap) = cap_days {
        if value == 0 || value > now + i64::from(cap) * DAY {
            return Err(CoreError::bad_request(format!(
                "this organization requires tokens to expire within {cap} days"
            )));
        }
    }
    Ok(())
}

/// Whether a token with `expires` outlives an org's cap (used when the token is used).
pub fn exceeds_cap(expires: Timestamp, now: Timestamp, cap_days: u32) -> bool {
    expires == 0 || expires - now > i64::from(cap_days) * DAY
}

/// A day count where 0 switches the setting off: 1..=`max` gives `Some(days)`, 0 gives
/// `None`; anything else is a 400 naming the field and what 0 means (`zero_means`).
pub fn optional_days(
    field: &str,
    days: i64,
    max: u32,
    zero_means: &str,
) -> CoreResult<Option<u32>> {
    match u32::try_from(days) {
        Ok(0) => Ok(None),
        Ok(d) if d <= max => Ok(Some(d)),
        _ => Err(CoreError::bad_request(format!(
            "{field} must be between 1 and {max}, or 0 {zero_means}"
        ))),
    }
}

/// Page sizes: 1–1000, default `default`.
pub fn page_size(value: Option<i64>, default: u32) -> CoreResult<u32> {
    match value {
        None => Ok(default),
        Some(v) if (1..=1000).contains(&v) => Ok(v as u32),
        Some(_) => Err(CoreError::bad_request(
            "page size must be between 1 and 1000",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_days_bounds() {
        let f = |d| optional_days("x", d, 3650, "to clear it");
        assert_eq!(f(0).ok(), Some(None));
        assert_eq!(f(1).ok(), Some(Some(1)));
        assert_eq!(f(3650).ok(), Some(Some(3650)));
        for bad in [-1, 3651, i64::MAX] {
            let err = f(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert_eq!(
                err, "x must be between 1 and 3650, or 0 to clear it",
                "{bad}"
            );
        }
    }

    #[test]
    fn free_text_refuses_controls_and_bidi_formatting() {
        for bad in [
            "a\0b",
            "a\u{b}b",
            "a\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}",
            "a\u{2028}b",
            "\u{202e}txt.exe",
            "a\u{2066}b",
            "a\rb",
        ] {
            assert!(text("name", bad, 100).is_err(), "{bad:?}");
            assert!(multiline_text("description", bad, 100).is_err(), "{bad:?}");
        }
        assert!(text("name", "line\nbreak", 100).is_err());
        assert!(multiline_text("description", "line\nbreak", 100).is_ok());
        assert!(text("name", "Zoë ✓ 日本語 🚀 (ok)", 100).is_ok());
        assert!(text("name", &"x".repeat(101), 100).is_err());
        let err = text("displayName", "a\u{202e}b", 100).expect_err("refused");
        assert!(err.to_string().contains("U+202E"), "{err}");
    }

    #[test]
    fn names() {
        for good in ["a", "acme", "my-org_1.x", &"a".repeat(100)] {
            assert!(name("org", good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"a".repeat(101)] {
            assert!(name("org", bad).is_err(), "{bad}");
        }
        assert!(token_name("ci-token_1").is_ok());
        for bad in ["", "a.b", "a b", &"a".repeat(41)] {
            assert!(token_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_rules() {
        let now = 1_000_000;
        assert!(expires(0, now, None).is_ok());
        assert!(expires(now + 10, now, None).is_ok());
        assert!(expires(now, now, None).is_err());
        assert!(expires(now - 1, now, None).is_err());
        assert!(expires(-5, now, None).is_err());
        assert!(expires(now + 730 * DAY, now, None).is_ok());
        assert!(expires(now + 730 * DAY + 1, now, None).is_err());
        assert!(expires(0, now, Some(30)).is_err());
        assert!(expires(now + 31 * DAY, now, Some(30)).is_err());
        assert!(expires(now + 29 * DAY, now, Some(30)).is_ok());
        assert!(exceeds_cap(0, now, 30));
        assert!(!exceeds_cap(now + DAY, now, 30));
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None, 100).ok(), Some(100));
        assert_eq!(page_size(Some(1000), 100).ok(), Some(1000));
        assert!(page_size(Some(0), 100).is_err());
        assert!(page_size(Some(1001), 100).is_err());
    }
}
