//! The overview: identities and credentials by provider and kind, open findings by severity
//! and OWASP category, trends across scans and evaluations, and the latest scans.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use nhiscope_engine::rules::rule::owasp_title;
use nhiscope_engine::store::dashboard::{EvaluationTrend, KindCount, ScanTrend};
use nhiscope_engine::store::{ScanRecord, Snapshot};
use serde::Serialize;

use crate::auth::Viewer;
use crate::chart::{self, Bar};
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{html, Page};

/// Everything the overview shows (also the JSON API's answer).
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub counts: Vec<KindCount>,
    /// (status, severity, owasp, count).
    pub findings: Vec<(String, String, String, i64)>,
    pub evaluations: Vec<EvaluationTrend>,
    pub scan_trends: Vec<ScanTrend>,
    pub scans: Vec<ScanRecord>,
}

pub async fn load(state: &AppState) -> Result<Overview, AppError> {
    let now = state.now();
    state
        .pool
        .run(move |s| {
            Ok(Overview {
                counts: s.kind_counts(Snapshot::Current)?,
                findings: s.finding_counts(now)?,
                evaluations: s.evaluation_trends(20)?,
                scan_trends: s.scan_trends(20)?,
                scans: s.scans(None, 8)?,
            })
        })
        .await
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    page: Page,
    o: Overview,
    identities: i64,
    credentials: i64,
    open: i64,
    suppressed: i64,
    by_severity: Vec<Bar>,
    by_owasp: Vec<Bar>,
    findings_line: String,
    long_lived_line: String,
    stale_line: String,
}

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
) -> Result<Html<String>, AppError> {
    let o = load(&state).await?;
    let sum = |object: &str| -> i64 {
        o.counts
            .iter()
            .filter(|c| c.object == object)
            .map(|c| c.total)
            .sum()
    };
    let count_status = |status: &str| -> i64 {
        o.findings
            .iter()
            .filter(|f| f.0 == status)
            .map(|f| f.3)
            .sum()
    };
    let by_severity = chart::bars(
        SEVERITIES
            .iter()
            .map(|sev| {
                let n = o
                    .findings
                    .iter()
                    .filter(|f| f.0 == "open" && f.1 == *sev)
                    .map(|f| f.3)
                    .sum();
                (sev.to_string(), n, sev.to_string())
            })
            .collect(),
    );
    let mut owasp: Vec<(String, i64, String)> = Vec::new();
    for f in o.findings.iter().filter(|f| f.0 == "open") {
        match owasp.iter_mut().find(|x| x.2 == f.2) {
            Some(x) => x.1 += f.3,
            None => owasp.push((
                format!("{} {}", f.2, owasp_title(&f.2).unwrap_or("")),
                f.3,
                f.2.clone(),
            )),
        }
    }
    owasp.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let findings_line = chart::line(
        &o.evaluations.iter().map(|e| e.findings).collect::<Vec<_>>(),
        300,
        60,
    );
    let long_lived_line = chart::line(
        &o.scan_trends
            .iter()
            .map(|t| t.long_lived)
            .collect::<Vec<_>>(),
        300,
        60,
    );
    let stale_line = chart::line(
        &o.scan_trends.iter().map(|t| t.stale).collect::<Vec<_>>(),
        300,
        60,
    );
    html(&OverviewPage {
        page: Page::new(&s, "overview", state.now()),
        identities: sum("identity"),
        credentials: sum("credential"),
        open: count_status("open"),
        suppressed: count_status("suppressed"),
        by_severity,
        by_owasp: chart::bars(owasp),
        findings_line,
        long_lived_line,
        stale_line,
        o,
    })
}

/// The overview template's helpers.
impl OverviewPage {
    fn t(&self, t: &Option<i64>) -> String {
        fmt::time(t)
    }
    fn at(&self, t: &i64) -> String {
        fmt::time(&Some(*t))
    }
}
