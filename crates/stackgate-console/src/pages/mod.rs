//! The console's pages, one module per area. Each handler calls the same `Service`
//! methods as the API; forms post to handlers that do the same and redirect (303) back.

pub mod audit;
pub mod members;
pub mod org;
pub mod settings;
pub mod stacks;
pub mod teams;
pub mod tokens;

use axum::response::Redirect;
use serde::Deserialize;

/// `?done=` after a successful form (a fixed word).
#[derive(Deserialize, Default)]
pub struct Done {
    pub done: Option<String>,
}

/// A 303 back to a page, with a fixed flash word.
pub fn back(path: &str, done: &str) -> Redirect {
    Redirect::to(&format!("{path}?done={done}"))
}
