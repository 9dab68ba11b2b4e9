//! Authentication and authorisation as extractors, so a handler cannot forget them: a handler
//! that takes [`Viewer`] only runs for a signed-in user (session cookie or API token), one that
//! takes [`Admin`] only for an admin, and a mutation takes [`AdminForm`] or [`AdminJson`],
//! which also check the CSRF token of a cookie session (API tokens are not ambient
//! credentials and need none).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, COOKIE, LOCATION};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nhiscope_engine::store::auth::{Role, WebUser};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{render, AppError};
use crate::secret;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nhiscope_session";
/// The header carrying the CSRF token on JSON mutations made with a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Session lifetime.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in user and how they signed in.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: WebUser,
    /// The session's CSRF token; empty for API-token requests.
    pub csrf: String,
    /// Signed in with an API token (not a cookie).
    pub api_token: bool,
    /// The digest of the session id (cookie sessions), to end the session.
    pub session_digest: Option<String>,
}

/// Any signed-in user.
#[derive(Debug, Clone)]
pub struct Viewer(pub Session);

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct Admin(pub Session);

/// Why a request was refused: pages redirect to the login, the API answers 401 / 403.
#[derive(Debug)]
pub enum AuthRejection {
    Login { next: String, api: bool },
    Forbidden { api: bool, why: &'static str },
    Failed(AppError, bool),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Login { api: true, .. } => (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer")],
                axum::Json(serde_json::json!({"error": "authentication required", "status": 401})),
            )
                .into_response(),
            AuthRejection::Login { next, api: false } => {
                let next: String = percent_encoding::utf8_percent_encode(
                    &next,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string();
                (
                    StatusCode::SEE_OTHER,
                    [(LOCATION, format!("/login?next={next}"))],
                )
                    .into_response()
            }
            AuthRejection::Forbidden { api, why } => {
                render(&AppError::Forbidden(why.to_string()), api)
            }
            AuthRejection::Failed(e, api) => render(&e, api),
        }
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn is_api(parts: &Parts) -> bool {
    parts.uri.path().starts_with("/api/")
}

async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<Session>, AppError> {
    if let Some(h) = parts.headers.get(AUTHORIZATION) {
        let token = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Ok(None);
        }
        let hash = secret::digest(token);
        let user = state
            .pool
            .run(move |s| Ok(s.api_token_user(&hash)?))
            .await?;
        return Ok(user.map(|user| Session {
            user,
            csrf: String::new(),
            api_token: true,
            session_digest: None,
        }));
    }
    let Some(id) = cookie(parts, SESSION_COOKIE).map(str::to_string) else {
        return Ok(None);
    };
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let hash = secret::digest(&id);
    let now = state.now();
    let digest = hash.clone();
    let user = state
        .pool
        .run(move |s| Ok(s.web_session_user(&hash, now)?))
        .await?;
    Ok(user.map(|user| Session {
        user,
        csrf: secret::csrf_token(&id),
        api_token: false,
        session_digest: Some(digest),
    }))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = is_api(parts);
        match session_of(parts, state).await {
            Ok(Some(s)) => Ok(Viewer(s)),
            Ok(None) => Err(AuthRejection::Login {
                next: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into()),
                api,
            }),
            Err(e) => Err(AuthRejection::Failed(e, api)),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Viewer(s) = Viewer::from_request_parts(parts, state).await?;
        if s.user.role < Role::Admin {
            return Err(AuthRejection::Forbidden {
                api: is_api(parts),
                why: "this needs the admin role",
            });
        }
        Ok(Admin(s))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// An admin's form submission whose CSRF token matched the session's.
pub struct AdminForm<T>(pub Session, pub T);

/// Any signed-in user's form submission whose CSRF token matched (e.g. logout).
pub struct ViewerForm<T>(pub Session, pub T);

async fn checked_form<T: DeserializeOwned>(
    s: &Session,
    req: Request,
    state: &AppState,
) -> Result<T, AuthRejection> {
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| AuthRejection::Failed(AppError::BadRequest(e.to_string()), false))?;
    let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AuthRejection::Failed(AppError::BadRequest(e.to_string()), false))?;
    if s.api_token || !secret::same(&field.csrf, &s.csrf) {
        return Err(AuthRejection::Forbidden {
            api: false,
            why: "missing or wrong CSRF token; reload the page and try again",
        });
    }
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AuthRejection::Failed(AppError::BadRequest(e.to_string()), false))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AdminForm<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Admin(s) = Admin::from_request_parts(&mut parts, state).await?;
        let value = checked_form(&s, Request::from_parts(parts, body), state).await?;
        Ok(AdminForm(s, value))
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ViewerForm<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Viewer(s) = Viewer::from_request_parts(&mut parts, state).await?;
        let value = checked_form(&s, Request::from_parts(parts, body), state).await?;
        Ok(ViewerForm(s, value))
    }
}

/// An admin's JSON mutation: an API token, or a cookie session with the CSRF header.
pub struct AdminJson<T>(pub Session, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for AdminJson<T> {
    type Rejection = AuthRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Admin(s) = Admin::from_request_parts(&mut parts, state).await?;
        if !s.api_token {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !secret::same(given, &s.csrf) {
                return Err(AuthRejection::Forbidden {
                    api: true,
                    why: "missing or wrong X-CSRF-Token header",
                });
            }
        }
        let axum::Json(value) =
            axum::Json::<T>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|e| AuthRejection::Failed(AppError::BadRequest(e.body_text()), true))?;
        Ok(AdminJson(s, value))
    }
}
