//! stackgate's domain.
//!
//! - [`authz`]: the single, pure permission function and its inputs.
//! - [`token`]: token values, their offline check and hashing.

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
pub mod token;
pub mod validate;

pub use error::{CoreError, CoreResult};
pub use principal::{Ctx, Identity, Principal};
pub use service::Service;
