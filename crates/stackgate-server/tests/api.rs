//! End-to-end flows through the router, one area per module:
//! - `current_user`: `GET /api/user` for every principal kind;
//! - `org_tokens`: what admin- and member-scope org tokens may do;
//! - `revocation`: deleted, expired and orphaned credentials, removed members;
//! - `policy`: the org's maximum token lifetime;
//! - `stacks`: visibility by stack level, and the transfer rules;
//! - `audit`: what the log records, paging, `lastUsed`.

mod common;

#[path = "api/audit.rs"]
mod audit;
#[path = "api/current_user.rs"]
mod current_user;
#[path = "api/org_tokens.rs"]
mod org_tokens;
#[path = "api/policy.rs"]
mod policy;
#[path = "api/revocation.rs"]
mod revocation;
#[path = "api/stacks.rs"]
mod stacks;
