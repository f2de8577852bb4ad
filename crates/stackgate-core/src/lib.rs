//! stackgate's domain: who may do what, and every operation that changes state.
//!
//! - [`authz`]: the single, pure permission function, its inputs and verdicts.
//! - [`service`]: every operation, one module per area, each run in the frame of
//!   operation frame (transaction, permission check, change, audit event, commit).
//! - [`auth`]: `Authorization` header → principal, with the token verification cache.
//! - [`principal`]: who is asking ([`Principal`], [`Identity`]) and the request [`Ctx`].
//! - [`token`]: token values, their offline check and hashing.
//! - [`catalog`]: the audit event types with Pulumi's ids and flags.
//! - [`chain`]: the audit log's hash chain: canonical encoding and verification.
//! - [`clock`]: time as a dependency (system clock, manual clock for tests).
//! - [`validate`]: input rules shared by the API, the console and the CLI.
//! - [`copy`]: copying a whole installation between databases.
//! - [`state_body`]: the Pulumi update protocol's state bodies (deployments, engine
//!   events), validated before they are stored.
//! - [`error`]: the domain's error type, mapped to HTTP by the server.

#![forbid(unsafe_code)]

pub mod auth;
pub mod authz;
pub mod catalog;
pub mod chain;
pub mod clock;
pub mod copy;
pub mod error;
pub mod principal;
pub mod service;
pub mod state_body;
pub mod token;
pub mod validate;

pub use error::{CoreError, CoreResult};
pub use principal::{Ctx, Identity, Principal};
pub use service::Service;
