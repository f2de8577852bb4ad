//! Audit coverage: every change leaves an event, and the log can be read, filtered,
//! exported and re-verified offline.
//!
//! - Every mutating route of the route table ([`stackgate_server::route_list`], the list
//!   the router is built from; methods other than GET/HEAD) is
//!   called once, successfully, by a principal allowed to; the org(s) owning the target
//!   must gain the expected event. The cases live in a map keyed by `(method, template)`
//!   and the test fails when a mutating route has no case (or a case names no route), so
//!   a new mutating route cannot land without an audit event. The few that write none by
//!   design (creating an update, calls under an update's lease, encrypt/decrypt) are an
//!   explicit list with reasons (`audit/routes.rs`, `NO_EVENT`); they are still called and
//!   must write nothing.
//! - Reads write nothing, except exports, which write `audit-log-exported` (the audit log)
//!   or `stack-exported` (a stack's state).
//! - Failed authentication with a revoked or expired token is recorded in the token's
//!   org(s) once a minute; an unknown token is recorded nowhere.
//! - `X-Forwarded-For` is believed only from a trusted proxy.
//! - Listing filters and bounds, paging, the CSV / CEF exports (each CSV row re-hashed
//!   with `stackgate_core::chain::hash`, as an auditor would offline), gzip, `verify` and
//!   the event-type catalogue.
//!
//! One module of `audit/` per area (every `tests/*.rs` file is a test binary, so the parts
//! of this one live in a directory): `routes` (every route's audit trail), `failed_auth`,
//! `source_ip`, `listing` (and the event-type catalogue), `export` (and `verify`).

mod audit;
mod common;
