//! The domain's error type. The server maps each variant to an HTTP status in one place;
//! `Internal` details are logged there and never sent to a client.

use stackgate_store::{OrgId, StoreError};

use crate::catalog::EventType;

/// A refusal that must be recorded as an auth-failure event in the org owning the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenialRecord {
    pub org_id: OrgId,
    pub event: EventType,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No, malformed, unknown, expired or deleted credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The target does not exist, or the principal may not learn that it exists.
    #[error("{0}")]
    NotFound(String),
    /// The principal sees the target but lacks the permission.
    #[error("{message}")]
    Forbidden {
        message: String,
        record: Option<DenialRecord>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// A part of the service is not configured (e.g. the secrets master key): 503.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        CoreError::BadRequest(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        CoreError::NotFound(msg.into())
    }

    pub fn conflict(msg: impl Into<String>) -> Self {
        CoreError::Conflict(msg.into())
    }

    /// A 403 that is not recorded (e.g. personal-token endpoints used by a machine token,
    /// which concern no org).
    pub fn forbidden(msg: impl Into<String>) -> Self {
        CoreError::Forbidden {
            message: msg.into(),
            record: None,
        }
    }

    /// Maps a store error, naming what conflicted for the client.
    pub fn from_store(e: StoreError, conflict_message: impl FnOnce() -> String) -> Self {
        match e {
            StoreError::Conflict(_) => CoreError::Conflict(conflict_message()),
            other => CoreError::from(other),
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => CoreError::Conflict(format!("conflict: {what}")),
            StoreError::NotFound(what) => CoreError::NotFound(format!("{what} not found")),
            StoreError::Backend(detail) => CoreError::Internal(detail),
        }
    }
}
