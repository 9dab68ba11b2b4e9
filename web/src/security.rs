//! Security middleware on every response and request: the headers (CSP without inline
//! script, frame-ancestors / X-Frame-Options, nosniff, no referrer to other sites, no caching of pages that
//! map credentials, HSTS over TLS; `Referrer-Policy: same-origin`, not `no-referrer`, because
//! under `no-referrer` browsers send `Origin: null` on same-site form posts), and a same-origin check that refuses cross-site
//! mutations before any handler runs (a second line behind SameSite=Strict and CSRF tokens).

use axum::extract::{Request, State};
use axum::http::header::{HeaderName, HeaderValue, HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{render, AppError};
use crate::state::AppState;

/// The Content-Security-Policy: only this origin's scripts, styles and images; no framing.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let cached = h.contains_key("cache-control");
    let mut list = vec![
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    if !cached {
        list.push(("cache-control", "no-store"));
    }
    if state.tls {
        list.push((
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    for (name, value) in list {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    res
}

/// True when the request's `Sec-Fetch-Site` or `Origin` names another site than `Host`.
fn is_cross_site(headers: &axum::http::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    match (header(ORIGIN.as_str()), header(HOST.as_str())) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            origin_host != host
        }
        _ => false,
    }
}

/// Refuses non-GET requests whose `Origin` (or `Sec-Fetch-Site`) says they come from another
/// site.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if is_cross_site(req.headers()) {
        let api = req.uri().path().starts_with("/api/");
        return render(
            &AppError::Forbidden("cross-site request refused".into()),
            api,
        );
    }
    next.run(req).await
}
