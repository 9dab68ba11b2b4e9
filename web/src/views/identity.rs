//! The identity page: attributes, tags, owners, credentials with age / last use / expiry,
//! effective permissions (admin, escalation paths with the granting statements), trusts,
//! findings with remediation, and history across snapshots.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use nhiscope_engine::store::activity::Activity;
use nhiscope_engine::store::identity::IdentityDetail;
use serde::{Deserialize, Serialize};

use crate::auth::Viewer;
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{given, html, snapshot, Page};

#[derive(Debug, Deserialize)]
pub struct IdentityParams {
    pub tenant: Option<String>,
    pub id: Option<String>,
    pub as_of: Option<String>,
    pub scan: Option<String>,
}

/// The identity page's data: the identity in the chosen snapshot and its activity in the
/// ingested logs (`None` when no log was ingested).
#[derive(Debug, Serialize)]
pub struct IdentityView {
    #[serde(flatten)]
    pub detail: IdentityDetail,
    pub activity: Option<Activity>,
}

pub async fn load(state: &AppState, p: &IdentityParams) -> Result<IdentityView, AppError> {
    let (Some(tenant), Some(id)) = (given(&p.tenant), given(&p.id)) else {
        return Err(AppError::BadRequest(
            "an identity needs tenant and id".into(),
        ));
    };
    let snap = snapshot(&p.as_of, &p.scan)?;
    let now = state.now();
    let shown = id.clone();
    state
        .pool
        .run(move |s| {
            let Some(detail) = s.identity_detail(snap, &tenant, &id, now)? else {
                return Ok(None);
            };
            let credentials: Vec<String> = detail
                .credentials
                .iter()
                .map(|c| c.credential_id.clone())
                .collect();
            let activity = s.identity_activity(
                &tenant,
                &id,
                &credentials,
                nhiscope_engine::store::activity::LATEST,
                now,
            )?;
            Ok(Some(IdentityView { detail, activity }))
        })
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no identity {shown} in this snapshot")))
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    page: Page,
    d: IdentityDetail,
    activity: Option<Activity>,
    remediation: Vec<(String, String)>,
}

impl IdentityPage {
    fn t(&self, t: &Option<i64>) -> String {
        fmt::time(t)
    }
    fn at(&self, t: &i64) -> String {
        fmt::time(&Some(*t))
    }
    fn age(&self, t: &Option<i64>) -> String {
        fmt::age(self.page.now, t)
    }
    fn opt(&self, s: &Option<String>) -> String {
        fmt::opt(s)
    }
    fn join(&self, v: &[String]) -> String {
        v.join(", ")
    }
    fn label(&self, g: &nhiscope_engine::model::GrantRow) -> String {
        nhiscope_engine::store::identity::statement_label(g)
    }
    fn enc(&self, s: &str) -> String {
        fmt::enc(s)
    }
    fn expired(&self, t: &Option<i64>) -> bool {
        t.is_some_and(|t| t <= self.page.now)
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Query(p): Query<IdentityParams>,
) -> Result<Html<String>, AppError> {
    let IdentityView {
        detail: d,
        activity,
    } = load(&state, &p).await?;
    let mut remediation: Vec<(String, String)> = Vec::new();
    for f in &d.findings {
        if remediation.iter().any(|r| r.0 == f.rule_id) {
            continue;
        }
        if let Some(rule) = state.rules.get(&f.rule_id) {
            remediation.push((f.rule_id.clone(), rule.remediation.trim().to_string()));
        }
    }
    html(&IdentityPage {
        page: Page::new(&s, "inventory", state.now()),
        d,
        activity,
        remediation,
    })
}
