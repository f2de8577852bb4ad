//! An update's engine events, as the Pulumi CLI sent them, turned into lines of plain text
//! for the update page, and the small text helpers the history table shares with it.
//!
//! Every string here comes from the CLI that ran the update, so it is attacker-controlled:
//! it is only ever returned as text for maud to escape, never as markup. Terminal escape
//! sequences and Pulumi's `<{%...%}>` colour directives are dropped, not interpreted.

use serde_json::{Map, Value};

/// What a line of the log is, which decides only its styling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Stdout,
    Debug,
    Info,
    Warning,
    Error,
    Step,
    StepFailed,
    Policy,
    Summary,
    Cancel,
}

impl LineKind {
    /// The CSS class of the line (prefixed: `warning` and `error` style other things).
    pub fn class(self) -> &'static str {
        match self {
            LineKind::Stdout => "log-out",
            LineKind::Debug => "log-debug",
            LineKind::Info => "log-info",
            LineKind::Warning => "log-warning",
            LineKind::Error | LineKind::StepFailed => "log-error",
            LineKind::Step => "log-step",
            LineKind::Policy => "log-policy",
            LineKind::Summary => "log-summary",
            LineKind::Cancel => "log-cancel",
        }
    }
}

/// One line (or block: a message may span lines) of the rendered log.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub text: String,
}

/// What an event adds to the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Rendered {
    Line(Line),
    /// A step that left a resource unchanged: counted, not listed (as `pulumi up` does).
    Same,
    /// Nothing to show (progress, prelude, policy bookkeeping, unknown or malformed events).
    Nothing,
}

fn line(kind: LineKind, text: String) -> Rendered {
    Rendered::Line(Line { kind, text })
}

fn text<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// One engine event (`{sequence, timestamp, <kind>Event: {...}}`) as a log line.
pub fn render(body: &str) -> Rendered {
    let Ok(Value::Object(event)) = serde_json::from_str::<Value>(body) else {
        return Rendered::Nothing;
    };
    let get = |k: &str| event.get(k).filter(|v| v.is_object());
    if let Some(e) = get("stdoutEvent") {
        return line(LineKind::Stdout, clean(text(e, "message")));
    }
    if let Some(e) = get("diagnosticEvent") {
        let severity = clean(text(e, "severity"));
        let kind = match severity.as_str() {
            "error" => LineKind::Error,
            "warning" => LineKind::Warning,
            "debug" => LineKind::Debug,
            _ => LineKind::Info,
        };
        let label = if severity.is_empty() {
            "info"
        } else {
            &severity
        };
        let message = clean(text(e, "message"));
        let urn = clean(text(e, "urn"));
        let text = if urn.is_empty() {
            format!("{label}: {message}")
        } else {
            format!("{label}: {urn}: {message}")
        };
        return line(kind, text);
    }
    for (key, what, kind) in [
        ("resourcePreEvent", "", LineKind::Step),
        ("resOutputsEvent", " done", LineKind::Step),
        ("resOpFailedEvent", " failed", LineKind::StepFailed),
    ] {
        if let Some(e) = get(key) {
            let meta = e.get("metadata").unwrap_or(&Value::Null);
            let op = clean(text(meta, "op"));
            if op == "same" && kind == LineKind::Step {
                return if key == "resourcePreEvent" {
                    Rendered::Same
                } else {
                    Rendered::Nothing
                };
            }
            let urn = clean(text(meta, "urn"));
            return line(kind, format!("{op}{what}: {urn}"));
        }
    }
    if let Some(e) = get("summaryEvent") {
        let changes = e
            .get("resourceChanges")
            .and_then(Value::as_object)
            .map(changes_of_map)
            .unwrap_or_default();
        let mut text = format!(
            "Resources: {}.",
            if changes.is_empty() {
                "no changes"
            } else {
                &changes
            }
        );
        if let Some(secs) = e.get("durationSeconds").and_then(Value::as_i64) {
            text.push_str(&format!(" Duration: {}.", duration(secs)));
        }
        if e.get("maybeCorrupt").and_then(Value::as_bool) == Some(true) {
            text.push_str(" The state may be corrupt.");
        }
        return line(LineKind::Summary, text);
    }
    if let Some(e) = get("policyEvent") {
        let level = clean(text(e, "enforcementLevel"));
        let pack = clean(text(e, "policyPackName"));
        let policy = clean(text(e, "policyName"));
        let urn = clean(text(e, "resourceUrn"));
        let message = clean(text(e, "message"));
        let on = if urn.is_empty() {
            String::new()
        } else {
            format!(" on {urn}")
        };
        return line(
            LineKind::Policy,
            format!("policy {pack}/{policy} ({level}){on}: {message}"),
        );
    }
    if event.contains_key("cancelEvent") {
        return line(LineKind::Cancel, "The update was cancelled.".to_string());
    }
    Rendered::Nothing
}

/// `{"create":2,"same":1}` (the update's stored summary) → "2 create, 1 same"; "" when
/// absent, malformed or all zero.
pub fn changes(json: Option<&str>) -> String {
    match json.and_then(|j| serde_json::from_str::<Value>(j).ok()) {
        Some(Value::Object(map)) => changes_of_map(&map),
        _ => String::new(),
    }
}

/// The order `pulumi up` lists changes in; other operations follow by name.
const OP_ORDER: [&str; 5] = ["create", "update", "replace", "delete", "same"];

fn changes_of_map(map: &Map<String, Value>) -> String {
    let mut parts: Vec<(usize, String, i64)> = map
        .iter()
        .filter_map(|(op, n)| Some((op, n.as_i64()?)))
        .filter(|(_, n)| *n > 0)
        .map(|(op, n)| {
            let rank = OP_ORDER
                .iter()
                .position(|o| o == op)
                .unwrap_or(OP_ORDER.len());
            (rank, clean(op), n)
        })
        .collect();
    parts.sort();
    parts
        .iter()
        .map(|(_, op, n)| format!("{n} {op}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `metadata.message` of the update's program request ("" when none).
pub fn message(request: &str) -> String {
    serde_json::from_str::<Value>(request)
        .ok()
        .as_ref()
        .and_then(|r| r.pointer("/metadata/message"))
        .and_then(Value::as_str)
        .map(clean)
        .unwrap_or_default()
}

/// The first line of `text`, at most `max` characters (an ellipsis marks a cut).
pub fn first_line(text: &str, max: usize) -> String {
    let mut lines = text.trim_end().lines();
    let first = lines.next().unwrap_or("").trim_end();
    let more = lines.next().is_some();
    if first.chars().count() > max {
        let mut s: String = first.chars().take(max).collect();
        s.push('…');
        s
    } else if more {
        format!("{first} …")
    } else {
        first.to_string()
    }
}

/// Seconds as "42s", "3m 05s" or "2h 07m".
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Text without terminal escape sequences, Pulumi colour directives (`<{%fg 2%}>`) or
/// other control characters (newlines and tabs stay); trailing newlines dropped.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates up to a final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC (hyperlinks, titles): up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // Character-set designations take one more character.
                Some('(' | ')' | '*' | '+') => {
                    chars.next();
                }
                _ => {}
            },
            '<' if chars.peek() == Some(&'{') => {
                let rest: String = chars.clone().take(2).collect();
                if rest == "{%" {
                    // Skip to the directive's `%}>`; an unterminated one is kept as text.
                    let mut probe = chars.clone();
                    let mut prev = ['\0', '\0'];
                    let mut closed = false;
                    probe.next();
                    probe.next();
                    for c in probe.by_ref() {
                        if prev == ['%', '}'] && c == '>' {
                            closed = true;
                            break;
                        }
                        prev = [prev[1], c];
                    }
                    if closed {
                        chars = probe;
                        continue;
                    }
                }
                out.push(c);
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_control_characters_are_dropped() {
        assert_eq!(clean("\u{1b}[1;32mok\u{1b}[0m\r\n"), "ok");
        assert_eq!(clean("<{%fg 2%}>+ <{%reset%}>create"), "+ create");
        assert_eq!(
            clean("\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\ text"),
            "link text"
        );
        assert_eq!(clean("a <{% b"), "a <{% b");
        assert_eq!(clean("x<y>{z}\tw\u{0}\n\n"), "x<y>{z}\tw");
    }

    #[test]
    fn events_become_lines() {
        let l = |kind, text: &str| {
            Rendered::Line(Line {
                kind,
                text: text.to_string(),
            })
        };
        assert_eq!(
            render(r#"{"sequence":1,"stdoutEvent":{"message":"Updating\n","color":"raw"}}"#),
            l(LineKind::Stdout, "Updating")
        );
        assert_eq!(
            render(
                r#"{"sequence":2,"diagnosticEvent":{"message":"boom","severity":"error","urn":"urn:a"}}"#
            ),
            l(LineKind::Error, "error: urn:a: boom")
        );
        assert_eq!(
            render(
                r#"{"sequence":3,"resourcePreEvent":{"metadata":{"op":"create","urn":"urn:b","type":"t"}}}"#
            ),
            l(LineKind::Step, "create: urn:b")
        );
        assert_eq!(
            render(r#"{"sequence":4,"resourcePreEvent":{"metadata":{"op":"same","urn":"urn:c"}}}"#),
            Rendered::Same
        );
        assert_eq!(
            render(
                r#"{"sequence":5,"summaryEvent":{"resourceChanges":{"same":1,"create":2,"delete":0},"durationSeconds":65}}"#
            ),
            l(
                LineKind::Summary,
                "Resources: 2 create, 1 same. Duration: 1m 05s."
            )
        );
        assert_eq!(
            render(r#"{"sequence":6,"cancelEvent":{}}"#),
            l(LineKind::Cancel, "The update was cancelled.")
        );
        assert_eq!(
            render(r#"{"sequence":7,"progressEvent":{}}"#),
            Rendered::Nothing
        );
        assert_eq!(render("not json"), Rendered::Nothing);
        assert_eq!(render(r#"{"stdoutEvent":"x"}"#), Rendered::Nothing);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            changes(Some(r#"{"same":1,"create":2,"import":1}"#)),
            "2 create, 1 same, 1 import"
        );
        assert_eq!(changes(Some("[]")), "");
        assert_eq!(changes(None), "");
        assert_eq!(
            message(r#"{"metadata":{"message":"fix \u001b[1mit\u001b[0m"}}"#),
            "fix it"
        );
        assert_eq!(message("{}"), "");
        assert_eq!(first_line("one\ntwo", 10), "one …");
        assert_eq!(first_line("abcdef", 3), "abc…");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3 * 3600 + 7 * 60), "3h 07m");
    }
}
