//! Rules: the loaded rule pack with parameters and finding counts per status.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use nhiscope_engine::store::dashboard::RuleCount;
use serde::Serialize;

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{html, Page};

/// One rule as the page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    pub id: String,
    pub title: String,
    pub owasp: String,
    pub severity: String,
    pub params: Vec<(String, String)>,
    pub origin: String,
    pub counts: RuleCount,
}

pub async fn load(state: &AppState) -> Result<Vec<RuleRow>, AppError> {
    let now = state.now();
    let counts = state.pool.run(move |s| Ok(s.rule_counts(now)?)).await?;
    Ok(state
        .rules
        .rules
        .iter()
        .map(|r| RuleRow {
            id: r.id.clone(),
            title: r.title.clone(),
            owasp: r.owasp.clone(),
            severity: r.severity.as_str().to_string(),
            params: r
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.display()))
                .collect(),
            origin: r.origin.clone(),
            counts: counts
                .iter()
                .find(|c| c.rule_id == r.id)
                .cloned()
                .unwrap_or_else(|| RuleCount {
                    rule_id: r.id.clone(),
                    ..Default::default()
                }),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    page: Page,
    rules: Vec<RuleRow>,
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
) -> Result<Html<String>, AppError> {
    let rules = load(&state).await?;
    html(&RulesPage {
        page: Page::new(&s, "rules", state.now()),
        rules,
    })
}
