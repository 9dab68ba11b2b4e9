//! Signing in and out: the login form, argon2 verification, the session cookie (HttpOnly,
//! SameSite=Strict, Secure over TLS) and the audit entries for both.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use nhiscope_engine::store::auth::AuditEntry;
use nhiscope_engine::time::Micros;
use serde::Deserialize;

use crate::auth::{ViewerForm, SESSION_COOKIE, SESSION_HOURS};
use crate::error::AppError;
use crate::secret;
use crate::state::AppState;
use crate::views::html;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only same-site paths are followed after login (no open redirect).
fn safe_next(next: &Option<String>) -> String {
    match next.as_deref() {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

pub async fn form(Query(q): Query<NextParam>) -> Result<impl IntoResponse, AppError> {
    html(&LoginPage {
        next: safe_next(&q.next),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    next: Option<String>,
}

fn audit(actor: &str, action: &str, at: Micros) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.to_string(),
        action: action.to_string(),
        target: None,
        detail: None,
        operation_id: None,
    }
}

pub async fn submit(
    State(state): State<AppState>,
    Form(c): Form<Credentials>,
) -> Result<Response, AppError> {
    let now = state.now();
    let name = c.name.trim().to_string();
    let password = c.password;
    let user_name = name.clone();
    let ok = state.pool.run(move |s| Ok(s.web_user(&user_name)?)).await?;
    // Verify off the async threads (argon2 is deliberately slow); a missing user still costs
    // one verification so timing does not reveal which names exist.
    let verified = tokio::task::spawn_blocking(move || match ok {
        Some((user, hash)) => secret::verify_password(&password, &hash).then_some(user),
        None => {
            secret::verify_password(&password, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g");
            None
        }
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?;
    let Some(user) = verified else {
        let actor = name.clone();
        state
            .pool
            .run(move |s| Ok(s.audit_web_action(&audit(&actor, "login_failed", now))?))
            .await?;
        let page = LoginPage {
            next: safe_next(&c.next),
            error: Some("Unknown user or wrong password.".into()),
        };
        return Ok((StatusCode::UNAUTHORIZED, html(&page)?).into_response());
    };
    let session = secret::new_token()?;
    let hash = secret::digest(&session);
    let expires = now + SESSION_HOURS * 3_600_000_000;
    let who = user.name.clone();
    state
        .pool
        .run(move |s| {
            s.create_web_session(&hash, &who, now, expires)?;
            s.audit_web_action(&audit(&who, "login", now))?;
            Ok(())
        })
        .await?;
    tracing::info!(message = "Signed in.", user = %user.name, role = user.role.as_str());
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_HOURS * 3600
    );
    Ok((
        StatusCode::SEE_OTHER,
        [(SET_COOKIE, cookie), (LOCATION, safe_next(&c.next))],
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    ViewerForm(s, Empty {}): ViewerForm<Empty>,
) -> Result<Response, AppError> {
    let now = state.now();
    if let Some(hash) = s.session_digest.clone() {
        let who = s.user.name.clone();
        state
            .pool
            .run(move |st| {
                st.delete_web_session(&hash)?;
                st.audit_web_action(&audit(&who, "logout", now))?;
                Ok(())
            })
            .await?;
    }
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            ),
            (LOCATION, "/login".to_string()),
        ],
    )
        .into_response())
}
