//! The JSON API (`/api/v1/...`), mirroring the pages with the same engine calls and the same
//! extractors: reads need a viewer (session cookie or `Authorization: Bearer <token>`),
//! mutations an admin (an API token, or a session plus the `X-CSRF-Token` header).

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use nhiscope_engine::store::auth::AuditEntry;
use nhiscope_engine::store::inventory_page::InventoryItem;
use nhiscope_engine::store::{DiffReport, ScanRecord, StoredFinding};
use nhiscope_engine::time;
use nhiscope_engine::trace::Trace;
use serde::{Deserialize, Serialize};

use crate::auth::{AdminJson, Viewer};
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::views::{findings, identity, inventory, overview, rules, scans, trace};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi(Viewer(_): Viewer) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI)
}

pub async fn overview(
    State(state): State<AppState>,
    Viewer(_): Viewer,
) -> Result<Json<overview::Overview>, ApiError> {
    Ok(Json(overview::load(&state).await?))
}

/// One inventory page with the cursor of the next one.
#[derive(Serialize)]
pub struct InventoryAnswer {
    items: Vec<InventoryItem>,
    total: i64,
    /// Pass as `after` for the next page.
    next: Option<String>,
}

pub async fn inventory(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<inventory::InventoryParams>,
) -> Result<Json<InventoryAnswer>, ApiError> {
    let page = inventory::load(&state, p.query()?).await?;
    Ok(Json(InventoryAnswer {
        next: page.next.as_ref().map(inventory::encode_cursor),
        items: page.items,
        total: page.total,
    }))
}

pub async fn identity(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<identity::IdentityParams>,
) -> Result<Json<identity::IdentityView>, ApiError> {
    Ok(Json(identity::load(&state, &p).await?))
}

/// The trace of `q` (an access key id, request id, identity or IP address).
pub async fn trace(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<trace::TraceParams>,
) -> Result<Json<Trace>, ApiError> {
    match trace::load(&state, &p).await? {
        Some(t) => Ok(Json(t)),
        None => Err(AppError::BadRequest("trace needs q".into()).into()),
    }
}

pub async fn findings(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<findings::FindingParams>,
) -> Result<Json<Vec<StoredFinding>>, ApiError> {
    Ok(Json(findings::list(&state, p.filter()?).await?))
}

pub async fn finding(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Path(id): Path<String>,
) -> Result<Json<findings::FindingDetail>, ApiError> {
    Ok(Json(findings::load_one(&state, id).await?))
}

/// A suppression request.
#[derive(Debug, Deserialize)]
pub struct SuppressBody {
    pub reason: String,
    /// RFC 3339 time or date; absent: never expires.
    pub expires_at: Option<String>,
}

pub async fn suppress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    AdminJson(s, body): AdminJson<SuppressBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let expires_at = match body.expires_at.as_deref() {
        None => None,
        Some(t) => Some(time::parse(t).ok_or_else(|| {
            AppError::BadRequest(format!("expires_at {t:?}: expected RFC 3339 or a date"))
        })?),
    };
    let sid = findings::suppress_finding(&state, &s, id, body.reason, expires_at).await?;
    Ok(Json(serde_json::json!({"suppression_id": sid})))
}

#[derive(Debug, Deserialize)]
pub struct Nothing {}

pub async fn revoke(
    State(state): State<AppState>,
    Path(sid): Path<i64>,
    AdminJson(s, Nothing {}): AdminJson<Nothing>,
) -> Result<Json<serde_json::Value>, ApiError> {
    findings::revoke(&state, &s, sid).await?;
    Ok(Json(serde_json::json!({"revoked": sid})))
}

pub async fn scans(
    State(state): State<AppState>,
    Viewer(_): Viewer,
) -> Result<Json<Vec<ScanRecord>>, ApiError> {
    Ok(Json(scans::list(&state, 200).await?))
}

pub async fn diff(
    State(state): State<AppState>,
    Viewer(_): Viewer,
    Query(p): Query<scans::DiffParams>,
) -> Result<Json<DiffReport>, ApiError> {
    let (from, to) = scans::scan_ids(&p)?;
    Ok(Json(scans::load_diff(&state, from, to).await?))
}

pub async fn rules(
    State(state): State<AppState>,
    Viewer(_): Viewer,
) -> Result<Json<Vec<rules::RuleRow>>, ApiError> {
    Ok(Json(rules::load(&state).await?))
}

pub async fn audit(
    State(state): State<AppState>,
    Viewer(_): Viewer,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(crate::views::audit::load(&state).await?))
}
