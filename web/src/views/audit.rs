//! The audit trail of dashboard actions: sign-ins (and failures), sign-outs, suppressions and
//! their revocations, with the actor and operation id.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use nhiscope_engine::store::auth::AuditEntry;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{html, Page};

pub async fn load(state: &AppState) -> Result<Vec<AuditEntry>, AppError> {
    state.pool.run(|s| Ok(s.web_audit(500)?)).await
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    entries: Vec<AuditEntry>,
}

impl AuditPage {
    fn at(&self, t: &i64) -> String {
        fmt::time(&Some(*t))
    }
    fn opt(&self, s: &Option<String>) -> String {
        fmt::opt(s)
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
) -> Result<Html<String>, AppError> {
    let entries = load(&state).await?;
    html(&AuditPage {
        page: Page::new(&s, "audit", state.now()),
        entries,
    })
}
