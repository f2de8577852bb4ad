//! End-to-end flows through the router, one area per module:
//! - `current_user`: `GET /api/user` for every principal kind;
//! - `org_tokens`: what admin- and member-scope org tokens may do;
//! - `revocation`: deleted, expired and orphaned credentials, removed members;
//! - `policy`: the org's maximum token lifetime;
//! - `stacks`: visibility by stack level, and the transfer rules;
//! - `rename`: `pulumi stack rename`'s endpoint;
//! - `audit`: what the log records, paging, `lastUsed`;
//! - `openapi`: the OpenAPI document, served to anyone;
//! - `state`: the state backend (updates and leases, checkpoints, export/import, history,
//!   secrets) as the Pulumi CLI drives it.

mod common;

/// The areas, in `tests/api/`.
mod api {
    mod audit;
    mod current_user;
    mod members;
    mod openapi;
    mod org_tokens;
    mod policy;
    mod rename;
    mod revocation;
    mod stacks;
    mod state;
}
