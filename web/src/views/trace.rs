//! The trace page (`/trace?q=...`): the engine's trace of an access key id, request id,
//! identity or IP address ([`nhiscope_engine::trace`]), the same chain `nhiscope trace`
//! prints: issuance → assume / delegation chain → actions → resources, each line with the raw
//! record it comes from. Linked from the identity page and its credential rows.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use nhiscope_engine::trace::Trace;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{given, html, Page};

/// Subjects longer than this are refused (no identifier is this long).
const MAX_SUBJECT: usize = 2048;

#[derive(Debug, Deserialize)]
pub struct TraceParams {
    pub q: Option<String>,
}

/// The trace of `q` (none when no subject was given).
pub async fn load(state: &AppState, p: &TraceParams) -> Result<Option<Trace>, AppError> {
    let Some(subject) = given(&p.q) else {
        return Ok(None);
    };
    if subject.len() > MAX_SUBJECT {
        return Err(AppError::BadRequest("the subject is too long".into()));
    }
    let now = state.now();
    let handle = tokio::runtime::Handle::current();
    let t = state
        .pool
        .run(move |s| {
            handle
                .block_on(nhiscope_engine::trace::trace(s, now, &subject))
                .map_err(|e| AppError::internal(format!("trace: {e}")))
        })
        .await?;
    Ok(Some(t))
}

#[derive(Template)]
#[template(path = "trace.html")]
struct TracePage {
    page: Page,
    q: String,
    t: Option<Trace>,
}

impl TracePage {
    /// A step's indentation class (`depth-0` .. `depth-8`; the CSP allows no inline style).
    fn indent(&self, depth: &usize) -> usize {
        (*depth).min(8)
    }
    /// True when nothing but "not in the inventory" is known.
    fn unknown(&self) -> bool {
        self.t.as_ref().is_some_and(|t| {
            t.steps.len() <= 1
                && t.steps
                    .iter()
                    .all(|s| s.text.contains("not in the inventory"))
        })
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Query(p): Query<TraceParams>,
) -> Result<Html<String>, AppError> {
    let t = load(&state, &p).await?;
    html(&TracePage {
        page: Page::new(&s, "trace", state.now()),
        q: given(&p.q).unwrap_or_default(),
        t,
    })
}
