//! The console's CSS and JS, compiled into the binary and served under a path that
//! carries a hash of their content (see build.rs), so browsers may cache them for a year.

use axum::http::header;
use axum::response::IntoResponse;

pub const CSS_PATH: &str = concat!(
    "/console/assets/",
    env!("CONSOLE_ASSET_HASH"),
    "/console.css"
);
pub const JS_PATH: &str = concat!(
    "/console/assets/",
    env!("CONSOLE_ASSET_HASH"),
    "/console.js"
);

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");
const CACHE: &str = "public, max-age=31536000, immutable";

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        CSS,
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        JS,
    )
}
