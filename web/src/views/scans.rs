//! Scans: the history with status and per-collector errors, the diff between any two scans,
//! and links into the inventory as of each scan (time travel).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use nhiscope_engine::store::{DiffReport, ScanRecord};
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{given, html, Page};

pub async fn list(state: &AppState, limit: usize) -> Result<Vec<ScanRecord>, AppError> {
    state.pool.run(move |s| Ok(s.scans(None, limit)?)).await
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    page: Page,
    scans: Vec<ScanRecord>,
}

impl ScansPage {
    fn at(&self, t: &i64) -> String {
        fmt::time(&Some(*t))
    }
    fn t(&self, t: &Option<i64>) -> String {
        fmt::time(t)
    }
    fn as_of(&self, t: &Option<i64>) -> String {
        t.map(|t| fmt::enc(&nhiscope_engine::time::format(t)))
            .unwrap_or_default()
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
) -> Result<Html<String>, AppError> {
    let scans = list(&state, 200).await?;
    html(&ScansPage {
        page: Page::new(&s, "scans", state.now()),
        scans,
    })
}

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

pub fn scan_ids(p: &DiffParams) -> Result<(i64, i64), AppError> {
    let id = |v: &Option<String>, name: &str| -> Result<i64, AppError> {
        given(v)
            .ok_or_else(|| AppError::BadRequest(format!("{name}: a scan id is needed")))?
            .parse()
            .map_err(|_| AppError::BadRequest(format!("{name}: not a scan id")))
    };
    Ok((id(&p.from, "from")?, id(&p.to, "to")?))
}

pub async fn load_diff(state: &AppState, from: i64, to: i64) -> Result<DiffReport, AppError> {
    state.pool.run(move |s| Ok(s.diff(from, to)?)).await
}

#[derive(Template)]
#[template(path = "diff.html")]
struct DiffPage {
    page: Page,
    d: DiffReport,
}

pub async fn diff(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Query(p): Query<DiffParams>,
) -> Result<Html<String>, AppError> {
    let (from, to) = scan_ids(&p)?;
    let d = load_diff(&state, from, to).await?;
    html(&DiffPage {
        page: Page::new(&s, "scans", state.now()),
        d,
    })
}
