//! The console's pages, one module per area. Each handler calls the same `Service`
//! methods as the API; forms post to handlers that do the same and redirect (303) back.

pub mod audit;
pub mod engine_log;
pub mod members;
pub mod org;
pub mod settings;
pub mod stacks;
pub mod teams;
pub mod tokens;
pub mod updates;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::error::PageResult;

/// `?done=` after a successful form (a fixed word).
#[derive(Deserialize, Default)]
pub struct Done {
    pub done: Option<String>,
}

/// A 303 back to a page, with a fixed flash word: how every successful form ends.
pub fn back(path: &str, done: &str) -> PageResult<Response> {
    Ok(Redirect::to(&format!("{path}?done={done}")).into_response())
}

/// Path parameters by how many the route has; each handler names them where it
/// destructures the tuple.
pub type Path1 = axum::extract::Path<String>;
pub type Path2 = axum::extract::Path<(String, String)>;
pub type Path3 = axum::extract::Path<(String, String, String)>;
pub type Path4 = axum::extract::Path<(String, String, String, String)>;
