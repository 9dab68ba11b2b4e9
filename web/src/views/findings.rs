//! Findings: the list grouped by rule (filters on status, severity, rule, OWASP category,
//! resource), one finding with evidence, remediation and lifecycle events, and the admin
//! actions: suppress with a reason and optional expiry, reopen (revoke the suppression). Each
//! action is recorded in the finding's events and in the web audit trail.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use nhiscope_engine::rules::rule::owasp_title;
use nhiscope_engine::rules::Severity;
use nhiscope_engine::store::auth::AuditEntry;
use nhiscope_engine::store::{FindingEvent, FindingFilter, NewSuppression, StoredFinding};
use nhiscope_engine::time::{self, Micros, DAY};
use serde::{Deserialize, Serialize};

use crate::auth::{AdminForm, Session, Viewer};
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{given, html, Page};

/// The findings list's query string.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct FindingParams {
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub owasp: Option<String>,
    pub q: Option<String>,
    pub limit: Option<String>,
}

impl FindingParams {
    pub fn filter(&self) -> Result<FindingFilter, AppError> {
        let statuses = match given(&self.status).as_deref() {
            None => Vec::new(),
            Some("all") => vec!["open".into(), "suppressed".into(), "resolved".into()],
            Some(s @ ("open" | "suppressed" | "resolved")) => vec![s.to_string()],
            Some(other) => return Err(AppError::BadRequest(format!("status: unknown {other:?}"))),
        };
        let min_severity = match given(&self.severity) {
            None => None,
            Some(s) => Some(
                Severity::parse(&s)
                    .ok_or_else(|| AppError::BadRequest(format!("severity: unknown {s:?}")))?,
            ),
        };
        let limit = match given(&self.limit) {
            None => 2000,
            Some(l) => l
                .parse::<usize>()
                .map_err(|_| AppError::BadRequest(format!("limit: {l:?} is not a number")))?
                .clamp(1, 100_000),
        };
        Ok(FindingFilter {
            statuses,
            min_severity,
            rule_id: given(&self.rule),
            owasp: given(&self.owasp),
            search: given(&self.q),
            limit: Some(limit),
            ..Default::default()
        })
    }
}

pub async fn list(state: &AppState, f: FindingFilter) -> Result<Vec<StoredFinding>, AppError> {
    let now = state.now();
    state.pool.run(move |s| Ok(s.findings(&f, now)?)).await
}

/// Findings of one rule.
struct Group {
    rule_id: String,
    title: String,
    owasp: String,
    owasp_title: String,
    severity: String,
    findings: Vec<StoredFinding>,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    page: Page,
    p: FindingParams,
    groups: Vec<Group>,
    total: usize,
}

impl FindingsPage {
    fn v(&self, value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
    fn sel(&self, value: &Option<String>, option: &str) -> bool {
        value.as_deref() == Some(option)
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Query(p): Query<FindingParams>,
) -> Result<Html<String>, AppError> {
    let all = list(&state, p.filter()?).await?;
    let total = all.len();
    let mut groups: Vec<Group> = Vec::new();
    for f in all {
        match groups.iter_mut().find(|g| g.rule_id == f.rule_id) {
            Some(g) => g.findings.push(f),
            None => groups.push(Group {
                rule_id: f.rule_id.clone(),
                title: f.title.clone(),
                owasp_title: owasp_title(&f.owasp).unwrap_or("").to_string(),
                owasp: f.owasp.clone(),
                severity: f.severity.clone(),
                findings: vec![f],
            }),
        }
    }
    html(&FindingsPage {
        page: Page::new(&s, "findings", state.now()),
        p,
        groups,
        total,
    })
}

/// One finding with its lifecycle events.
#[derive(Debug, Clone, Serialize)]
pub struct FindingDetail {
    pub finding: StoredFinding,
    pub events: Vec<FindingEvent>,
    pub remediation: Option<String>,
    pub references: Vec<String>,
}

pub async fn load_one(state: &AppState, id: String) -> Result<FindingDetail, AppError> {
    let now = state.now();
    let shown = id.clone();
    let found = state
        .pool
        .run(move |s| {
            let Some((rule_id, resource)) = s.finding_key(&id)? else {
                return Ok(None);
            };
            let list = s.findings(
                &FindingFilter {
                    statuses: vec!["open".into(), "suppressed".into(), "resolved".into()],
                    rule_id: Some(rule_id),
                    search: Some(resource),
                    ..Default::default()
                },
                now,
            )?;
            let Some(f) = list.into_iter().find(|f| f.finding_id == id) else {
                return Ok(None);
            };
            let events = s.finding_events(&id)?;
            Ok(Some((f, events)))
        })
        .await?;
    let Some((finding, events)) = found else {
        return Err(AppError::NotFound(format!("no finding {shown}")));
    };
    let rule = state.rules.get(&finding.rule_id);
    Ok(FindingDetail {
        remediation: rule.map(|r| r.remediation.trim().to_string()),
        references: rule.map(|r| r.references.clone()).unwrap_or_default(),
        finding,
        events,
    })
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    page: Page,
    d: FindingDetail,
    evidence: String,
    owasp_title: String,
}

impl FindingPage {
    fn at(&self, t: &i64) -> String {
        fmt::time(&Some(*t))
    }
    fn t(&self, t: &Option<i64>) -> String {
        fmt::time(t)
    }
    fn opt(&self, s: &Option<String>) -> String {
        fmt::opt(s)
    }
    fn enc(&self, s: &str) -> String {
        fmt::enc(s)
    }
}

pub async fn detail(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let d = load_one(&state, id).await?;
    let evidence = d
        .finding
        .evidence
        .as_deref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| "{}".into());
    html(&FindingPage {
        page: Page::new(&s, "findings", state.now()),
        owasp_title: owasp_title(&d.finding.owasp).unwrap_or("").to_string(),
        evidence,
        d,
    })
}

/// The suppress form.
#[derive(Debug, Deserialize)]
pub struct SuppressForm {
    pub reason: String,
    /// Days until the suppression expires (empty: never).
    pub days: Option<String>,
}

/// Suppresses one finding for `who`, recording it in the finding events and the audit trail.
pub async fn suppress_finding(
    state: &AppState,
    who: &Session,
    id: String,
    reason: String,
    expires_at: Option<Micros>,
) -> Result<i64, AppError> {
    let now = state.now();
    if reason.trim().is_empty() {
        return Err(AppError::BadRequest("a suppression needs a reason".into()));
    }
    if reason.len() > 2000 {
        return Err(AppError::BadRequest(
            "the reason is longer than 2000 characters".into(),
        ));
    }
    if expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::BadRequest("the expiry is in the past".into()));
    }
    let author = who.user.name.clone();
    let op = crate::secret::random_hex(8)?;
    state
        .pool
        .run(move |s| {
            let sid = s.suppress(
                &NewSuppression {
                    finding_id: Some(id.clone()),
                    reason: reason.clone(),
                    author: author.clone(),
                    expires_at,
                    ..Default::default()
                },
                "web",
                now,
            )?;
            s.audit_web_action(&AuditEntry {
                at: now,
                actor: author,
                action: "suppress".into(),
                target: Some(id),
                detail: Some(format!(
                    "suppression {sid}: {reason}{}",
                    expires_at
                        .map(|e| format!(" (until {})", time::format(e)))
                        .unwrap_or_default()
                )),
                operation_id: Some(op),
            })?;
            // The inventory's open-finding figures change with the suppression.
            s.refresh_identity_summary(now)?;
            Ok(sid)
        })
        .await
}

/// Revokes a suppression for `who` (its findings show as open again), with an audit entry.
pub async fn revoke(state: &AppState, who: &Session, sid: i64) -> Result<(), AppError> {
    let now = state.now();
    let author = who.user.name.clone();
    let op = crate::secret::random_hex(8)?;
    state
        .pool
        .run(move |s| {
            s.revoke_suppression(sid, &author, now)?;
            s.refresh_identity_summary(now)?;
            s.audit_web_action(&AuditEntry {
                at: now,
                actor: author,
                action: "unsuppress".into(),
                target: Some(format!("suppression {sid}")),
                detail: None,
                operation_id: Some(op),
            })?;
            Ok(())
        })
        .await
}

fn back_to(id: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/findings/{}", fmt::enc(id)))],
    )
        .into_response()
}

pub async fn suppress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminForm(s, form): AdminForm<SuppressForm>,
) -> Result<Response, AppError> {
    let expires_at = match given(&form.days) {
        None => None,
        Some(d) => {
            let days: i64 = d
                .parse()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| AppError::BadRequest(format!("days: {d:?} is not 1 to 3650")))?;
            Some(state.now() + days * DAY)
        }
    };
    suppress_finding(&state, &s, id.clone(), form.reason, expires_at).await?;
    Ok(back_to(&id))
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// The finding to return to.
    pub finding: Option<String>,
}

pub async fn unsuppress(
    State(state): State<AppState>,
    Path(sid): Path<i64>,
    AdminForm(s, form): AdminForm<RevokeForm>,
) -> Result<Response, AppError> {
    revoke(&state, &s, sid).await?;
    Ok(match given(&form.finding) {
        Some(id) => back_to(&id),
        None => (StatusCode::SEE_OTHER, [(LOCATION, "/findings".to_string())]).into_response(),
    })
}
