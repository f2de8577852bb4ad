//! The audit coverage binary's modules, one per area (see `audit_coverage.rs`).

mod export;
mod failed_auth;
mod listing;
mod routes;
mod source_ip;
