//! The inventory: search, filters, sorting, keyset pagination and CSV export of the current
//! filter. Query parameters are parsed into the engine's typed `InventoryQuery`; unknown enum
//! values are refused, free text only ever becomes a bound parameter.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use nhiscope_engine::rules::Severity;
use nhiscope_engine::store::inventory_page::{
    InventoryCursor, InventoryPage, InventoryQuery, InventorySort, KeyAge,
};
use nhiscope_engine::store::Snapshot;
use serde::{Deserialize, Serialize};

use crate::auth::Viewer;
use crate::error::AppError;
use crate::fmt;
use crate::state::AppState;
use crate::views::{given, html, snapshot, Page};

/// The inventory's query string, as typed by the user (every field optional text).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct InventoryParams {
    pub q: Option<String>,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    pub kind: Option<String>,
    pub findings: Option<String>,
    pub severity: Option<String>,
    pub stale: Option<String>,
    pub owner: Option<String>,
    pub key_age: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub as_of: Option<String>,
    pub scan: Option<String>,
    pub after: Option<String>,
    pub limit: Option<String>,
}

fn yes_no(field: &str, v: &Option<String>) -> Result<Option<bool>, AppError> {
    match given(v).as_deref() {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(other) => Err(AppError::BadRequest(format!(
            "{field}: {other:?} is not yes or no"
        ))),
    }
}

/// An opaque cursor: hex of the JSON of the engine's cursor.
pub fn encode_cursor(c: &InventoryCursor) -> String {
    hex::encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(text: &str) -> Result<InventoryCursor, AppError> {
    hex::decode(text)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| AppError::BadRequest("after: not a page cursor".into()))
}

impl InventoryParams {
    /// The engine query these parameters describe.
    pub fn query(&self) -> Result<InventoryQuery, AppError> {
        let sort = match given(&self.sort) {
            None => InventorySort::Name,
            Some(s) => InventorySort::parse(&s)
                .ok_or_else(|| AppError::BadRequest(format!("sort: unknown column {s:?}")))?,
        };
        let descending = match given(&self.dir).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(AppError::BadRequest(format!(
                    "dir: {other:?} is not asc or desc"
                )))
            }
        };
        let min_severity = match given(&self.severity) {
            None => None,
            Some(s) => Some(
                Severity::parse(&s)
                    .ok_or_else(|| AppError::BadRequest(format!("severity: unknown {s:?}")))?,
            ),
        };
        let key_age = match given(&self.key_age) {
            None => None,
            Some(s) => Some(
                KeyAge::parse(&s)
                    .ok_or_else(|| AppError::BadRequest(format!("key_age: unknown {s:?}")))?,
            ),
        };
        let limit = match given(&self.limit) {
            None => None,
            Some(l) => Some(
                l.parse::<usize>()
                    .map_err(|_| AppError::BadRequest(format!("limit: {l:?} is not a number")))?,
            ),
        };
        Ok(InventoryQuery {
            snapshot: snapshot(&self.as_of, &self.scan)?,
            search: given(&self.q),
            provider: given(&self.provider),
            tenant: given(&self.tenant),
            kind: given(&self.kind),
            has_findings: yes_no("findings", &self.findings)?,
            min_severity,
            stale: yes_no("stale", &self.stale)?,
            has_owner: yes_no("owner", &self.owner)?,
            key_age,
            sort,
            descending,
            after: given(&self.after).map(|a| decode_cursor(&a)).transpose()?,
            limit,
        })
    }

    /// This query string with `after` removed and the given sort, for links.
    fn link(&self, sort: Option<&str>, dir: Option<&str>, after: Option<String>) -> String {
        let mut p = self.clone();
        p.after = after;
        if let Some(s) = sort {
            p.sort = Some(s.to_string());
        }
        if let Some(d) = dir {
            p.dir = Some(d.to_string());
        }
        let clean = InventoryParams {
            q: given(&p.q),
            provider: given(&p.provider),
            tenant: given(&p.tenant),
            kind: given(&p.kind),
            findings: given(&p.findings),
            severity: given(&p.severity),
            stale: given(&p.stale),
            owner: given(&p.owner),
            key_age: given(&p.key_age),
            sort: given(&p.sort),
            dir: given(&p.dir),
            as_of: given(&p.as_of),
            scan: given(&p.scan),
            after: given(&p.after),
            limit: given(&p.limit),
        };
        serde_urlencoded::to_string(&clean).unwrap_or_default()
    }
}

pub async fn load(state: &AppState, q: InventoryQuery) -> Result<InventoryPage, AppError> {
    let now = state.now();
    state
        .pool
        .run(move |s| Ok(s.inventory_page(&q, now)?))
        .await
}

#[derive(Template)]
#[template(path = "inventory.html")]
struct InventoryView {
    page: Page,
    p: InventoryParams,
    result: InventoryPage,
    next_link: Option<String>,
    first_link: Option<String>,
    csv_link: String,
    sort: &'static str,
    descending: bool,
    snapshot_note: Option<String>,
}

impl InventoryView {
    fn sort_link(&self, column: &str) -> String {
        let dir = if self.sort == column && !self.descending {
            "desc"
        } else {
            "asc"
        };
        self.p.link(Some(column), Some(dir), None)
    }
    fn aria_sort(&self, column: &str) -> &'static str {
        match (self.sort == column, self.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }
    fn sel(&self, value: &Option<String>, option: &str) -> bool {
        value.as_deref() == Some(option)
    }
    fn v(&self, value: &Option<String>) -> String {
        value.clone().unwrap_or_default()
    }
    fn age(&self, t: &Option<i64>) -> String {
        fmt::age(self.page.now, t)
    }
    fn date(&self, t: &Option<i64>) -> String {
        fmt::date(t)
    }
    fn enc(&self, s: &str) -> String {
        fmt::enc(s)
    }
    fn snap(&self) -> String {
        let mut out = String::new();
        if let Some(a) = given(&self.p.as_of) {
            out.push_str(&format!("&as_of={}", fmt::enc(&a)));
        }
        if let Some(s) = given(&self.p.scan) {
            out.push_str(&format!("&scan={}", fmt::enc(&s)));
        }
        out
    }
}

pub async fn page(
    State(state): State<AppState>,
    Viewer(s): Viewer,
    Query(p): Query<InventoryParams>,
) -> Result<Html<String>, AppError> {
    let q = p.query()?;
    let snapshot_note = match q.snapshot {
        Snapshot::Current => None,
        Snapshot::AsOf(t) => Some(format!("as of {}", nhiscope_engine::time::format(t))),
        Snapshot::Scan(id) => Some(format!("exactly what scan {id} collected")),
    };
    let (sort, descending, had_cursor) = (q.sort.as_str(), q.descending, q.after.is_some());
    let result = load(&state, q).await?;
    let next_link = result
        .next
        .as_ref()
        .map(|c| p.link(None, None, Some(encode_cursor(c))));
    html(&InventoryView {
        page: Page::new(&s, "inventory", state.now()),
        next_link,
        first_link: had_cursor.then(|| p.link(None, None, None)),
        csv_link: p.link(None, None, None),
        sort,
        descending,
        snapshot_note,
        result,
        p,
    })
}

/// Most rows one CSV export writes.
pub const CSV_MAX_ROWS: usize = 1_000_000;

/// The current filter as CSV (every page, up to [`CSV_MAX_ROWS`]).
pub async fn csv(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<InventoryParams>,
) -> Result<Response, AppError> {
    let mut q = p.query()?;
    q.after = None;
    q.limit = Some(1000);
    let now = state.now();
    let body = state
        .pool
        .run(move |s| {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = [
                "provider",
                "tenant",
                "kind",
                "name",
                "identity_id",
                "created_at",
                "last_used_at",
                "active_keys",
                "oldest_active_key",
                "owners",
                "open_findings",
                "max_severity",
            ];
            let io = |e: csv::Error| AppError::internal(format!("csv: {e}"));
            w.write_record(header).map_err(io)?;
            let mut written = 0usize;
            loop {
                let page = s.inventory_page(&q, now)?;
                for i in &page.items {
                    w.write_record([
                        i.provider.as_str(),
                        i.tenant.as_str(),
                        i.kind.as_str(),
                        &csv_safe(&i.name),
                        &csv_safe(&i.identity_id),
                        &fmt::time(&i.created_at),
                        &fmt::time(&i.last_used_at),
                        &i.active_keys.to_string(),
                        &fmt::time(&i.oldest_active_key),
                        &csv_safe(i.owners.as_deref().unwrap_or("")),
                        &i.open_findings.to_string(),
                        i.max_severity.as_deref().unwrap_or(""),
                    ])
                    .map_err(io)?;
                }
                written += page.items.len();
                match page.next {
                    Some(c) if written < CSV_MAX_ROWS => q.after = Some(c),
                    _ => break,
                }
            }
            w.into_inner()
                .map_err(|e| AppError::internal(format!("csv: {e}")))
        })
        .await?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"nhiscope-inventory.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// Neutralises spreadsheet formulas (CSV injection): a cell starting with = + - @ gets a quote.
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
