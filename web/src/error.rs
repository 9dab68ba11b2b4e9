//! The one error type of the dashboard. Every error gets an operation id: the client sees a
//! short message and the id, the log gets the cause under the same id.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use nhiscope_engine::StoreError;

/// What went wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(msg: impl Into<String>) -> AppError {
        AppError::Internal(msg.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
            AppError::Store(StoreError::ScanNotFound(_)) => StatusCode::NOT_FOUND,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client may read: user errors verbatim, internal ones not at all.
    pub fn public_message(&self) -> String {
        match self {
            AppError::NotFound(m) | AppError::BadRequest(m) | AppError::Forbidden(m) => m.clone(),
            AppError::Store(StoreError::Invalid(m)) => m.clone(),
            AppError::Store(StoreError::ScanNotFound(id)) => format!("scan {id} not found"),
            _ => "internal error; the details are in the server log".into(),
        }
    }
}

/// Renders an error page (or JSON for the API) with a fresh operation id, logging the cause.
pub fn render(err: &AppError, json: bool) -> Response {
    let op = crate::secret::random_hex(8).unwrap_or_else(|_| "unavailable".into());
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(message = "Request failed.", operation_id = %op, error = %err);
    } else {
        tracing::info!(message = "Request refused.", operation_id = %op, status = status.as_u16(), error = %err);
    }
    let message = err.public_message();
    if json {
        let body =
            serde_json::json!({"error": message, "status": status.as_u16(), "operation_id": op});
        return (status, axum::Json(body)).into_response();
    }
    let page = crate::views::ErrorPage {
        status: status.as_u16(),
        message,
        operation_id: op,
    };
    (status, Html(crate::views::render_html(&page))).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        render(&self, false)
    }
}

/// An error of the JSON API (same as [`AppError`], rendered as JSON).
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        render(&self.0, true)
    }
}
