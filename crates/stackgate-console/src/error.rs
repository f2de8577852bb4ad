//! How the console answers failures: a page in plain words with the right status code.
//! Internal details go to the log, never to the page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use stackgate_core::CoreError;

use crate::layout;

/// A failure to show to the user.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): back to the sign-in page.
    SignIn,
    /// A failure with its status and a plain message.
    Plain(StatusCode, String),
}

pub type PageResult<T> = Result<T, PageError>;

impl PageError {
    pub fn bad_request(msg: impl Into<String>) -> PageError {
        PageError::Plain(StatusCode::BAD_REQUEST, msg.into())
    }

    pub fn csrf() -> PageError {
        PageError::Plain(
            StatusCode::FORBIDDEN,
            "This form could not be accepted: it has expired or did not come from this site. \
             Go back, reload the page and try again."
                .to_string(),
        )
    }
}

impl From<CoreError> for PageError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated(_) => PageError::SignIn,
            CoreError::NotFound(msg) => PageError::Plain(
                StatusCode::NOT_FOUND,
                format!("Not found: {msg}. It may not exist, or you may not have access to it."),
            ),
            CoreError::Forbidden { message, .. } => PageError::Plain(
                StatusCode::FORBIDDEN,
                format!("You do not have permission to do that ({message})."),
            ),
            CoreError::BadRequest(msg) => PageError::Plain(StatusCode::BAD_REQUEST, msg),
            CoreError::Conflict(msg) => PageError::Plain(StatusCode::CONFLICT, msg),
            CoreError::Unavailable(msg) => PageError::Plain(StatusCode::SERVICE_UNAVAILABLE, msg),
            CoreError::Internal(msg) => {
                tracing::error!(error = %msg, "console request failed");
                PageError::Plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Please try again; if it keeps \
                     happening, ask the operator to check the server log."
                        .to_string(),
                )
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/console/login").into_response(),
            PageError::Plain(status, message) => {
                let title = match status {
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    StatusCode::INTERNAL_SERVER_ERROR => "Server error",
                    _ => "That did not work",
                };
                let body = layout::bare(
                    title,
                    html! {
                        div.card.error role="alert" {
                            h1 { (title) }
                            p #error-message { (message) }
                            p { a href="/console" { "Back to the console" } }
                        }
                    },
                );
                (status, body).into_response()
            }
        }
    }
}

pub async fn not_found() -> PageError {
    PageError::Plain(
        StatusCode::NOT_FOUND,
        "There is no such page in the console.".to_string(),
    )
}
