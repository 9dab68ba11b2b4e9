//! Every route of the dashboard, in one list. Only `/login` and `/static/*` are public; every
//! other handler takes an auth extractor (the router test walks this file's routes and checks
//! each refuses an anonymous request).

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use crate::views::{audit, findings, identity, inventory, login, overview, rules, scans, trace};
use crate::{api, assets, security};

/// The dashboard's router with its security middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/static/{file}", get(assets::serve))
        .route("/", get(overview::page))
        .route("/inventory", get(inventory::page))
        .route("/inventory.csv", get(inventory::csv))
        .route("/identity", get(identity::page))
        .route("/findings", get(findings::page))
        .route("/findings/{id}", get(findings::detail))
        .route("/findings/{id}/suppress", post(findings::suppress))
        .route("/suppressions/{sid}/revoke", post(findings::unsuppress))
        .route("/scans", get(scans::page))
        .route("/scans/diff", get(scans::diff))
        .route("/rules", get(rules::page))
        .route("/audit", get(audit::page))
        .route("/trace", get(trace::page))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/overview", get(api::overview))
        .route("/api/v1/inventory", get(api::inventory))
        .route("/api/v1/identity", get(api::identity))
        .route("/api/v1/findings", get(api::findings))
        .route("/api/v1/findings/{id}", get(api::finding))
        .route("/api/v1/findings/{id}/suppress", post(api::suppress))
        .route("/api/v1/suppressions/{sid}/revoke", post(api::revoke))
        .route("/api/v1/scans", get(api::scans))
        .route("/api/v1/scans/diff", get(api::diff))
        .route("/api/v1/rules", get(api::rules))
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/trace", get(api::trace))
        .fallback(not_found)
        .layer(middleware::from_fn(security::same_origin))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    crate::error::render(
        &crate::error::AppError::NotFound(format!("no page {}", uri.path())),
        uri.path().starts_with("/api/"),
    )
}
