//! HTTP plumbing shared by stackgate's API (`stackgate-server`) and its web console
//! (`stackgate-console`).
//!
//! Both front ends record the same client address in audit events and stream the same
//! audit export files, so those live here and neither front end depends on the other:
//! - [`client_ip`]: the client's address, honouring `--trusted-proxies`;
//! - [`export`]: the CSV / CEF export body and the response that carries it;
//! - [`observe`]: request ids (`X-Request-Id`) and one log line per request;
//! - [`iso`]: the timestamp format of the API and of CSV exports.

#![forbid(unsafe_code)]

pub mod client_ip;
pub mod export;
pub mod observe;

/// Unix seconds as ISO-8601 with whole seconds (`2026-11-30T12:00:00Z`).
pub fn iso(t: stackgate_store::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}
