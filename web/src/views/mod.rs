//! Server-rendered pages: one module per page with its handlers and askama template structs
//! (templates under `web/templates/`, HTML-escaped by default). Handlers are thin: parse the
//! query, call the engine API through the pool, fill a template.

pub mod audit;
pub mod findings;
pub mod identity;
pub mod inventory;
pub mod login;
pub mod overview;
pub mod rules;
pub mod scans;
pub mod trace;

use askama::Template;
use nhiscope_engine::store::auth::Role;
use nhiscope_engine::store::Snapshot;
use nhiscope_engine::time::{self, Micros};

use crate::auth::Session;
use crate::error::AppError;

/// What the layout needs: who is signed in, their CSRF token, the active tab, the time.
pub struct Page {
    pub user: String,
    pub role: &'static str,
    pub admin: bool,
    pub csrf: String,
    pub active: &'static str,
    pub now: Micros,
}

impl Page {
    pub fn new(s: &Session, active: &'static str, now: Micros) -> Page {
        Page {
            user: s.user.name.clone(),
            role: s.user.role.as_str(),
            admin: s.user.role == Role::Admin,
            csrf: s.csrf.clone(),
            active,
            now,
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub message: String,
    pub operation_id: String,
}

/// Renders a template; a rendering failure (a template bug) becomes a plain message.
pub fn render_html<T: Template>(t: &T) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(message = "Template failed.", error = %e);
        "<!doctype html><title>error</title><p>template error; see the server log</p>".into()
    })
}

/// A rendered page as a response.
pub fn html<T: Template>(t: &T) -> Result<axum::response::Html<String>, AppError> {
    t.render()
        .map(axum::response::Html)
        .map_err(|e| AppError::internal(format!("template: {e}")))
}

/// Empty form fields count as absent.
pub fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The snapshot a page looks at: `scan` id, or `as_of` time, or the current state.
pub fn snapshot(as_of: &Option<String>, scan: &Option<String>) -> Result<Snapshot, AppError> {
    if let Some(s) = given(scan) {
        return s
            .parse()
            .map(Snapshot::Scan)
            .map_err(|_| AppError::BadRequest(format!("scan {s:?} is not a scan id")));
    }
    match given(as_of) {
        None => Ok(Snapshot::Current),
        Some(t) => time::parse(&t).map(Snapshot::AsOf).ok_or_else(|| {
            AppError::BadRequest(format!("as of {t:?}: expected a date or RFC 3339 time"))
        }),
    }
}
