//! Turns SDK errors into [`CollectorError`]s that name the API and say why.

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::collector::CollectorError;

/// Classifies an SDK error of API `api`.
pub fn classify<E>(
    api: &str,
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> CollectorError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let api = api.to_string();
    let message = DisplayErrorContext(&err).to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let not_implemented = |m: &str| {
        let m = m.to_ascii_lowercase();
        m.contains("not been implemented")
            || m.contains("not yet implemented")
            || m.contains("notimplemented")
    };
    match &err {
        SdkError::ServiceError(se) if se.err().code().is_none() => {
            // Not an AWS error document (an HTML error page, an emulator's stack trace...).
            let code = status
                .map(|s| format!("HTTP {s}"))
                .unwrap_or_else(|| "unknown".into());
            let message = "the endpoint answered with a non-AWS error body, after retries; \
                           it may not implement this API"
                .to_string();
            if status == Some(501) {
                CollectorError::NotImplemented { api, message }
            } else {
                CollectorError::Service { api, code, message }
            }
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("").to_string();
            let msg = se.err().message().unwrap_or("").to_string();
            if code.contains("AccessDenied")
                || code == "UnauthorizedOperation"
                || code == "UnrecognizedClientException"
            {
                CollectorError::AccessDenied {
                    api,
                    code,
                    message: msg,
                }
            } else if code.contains("Throttl") || code == "RequestLimitExceeded" {
                CollectorError::Throttled { api, message: msg }
            } else if code == "NotImplemented" || not_implemented(&msg) || not_implemented(&message)
            {
                CollectorError::NotImplemented {
                    api,
                    message: if msg.is_empty() { message } else { msg },
                }
            } else {
                CollectorError::Service {
                    api,
                    code,
                    message: if msg.is_empty() { message } else { msg },
                }
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            CollectorError::Transport { api, message }
        }
        _ if not_implemented(&message) || status == Some(501) => {
            CollectorError::NotImplemented { api, message }
        }
        _ => match status {
            Some(s) => CollectorError::Service {
                api,
                code: format!("HTTP {s}"),
                message,
            },
            None => CollectorError::Parse { api, message },
        },
    }
}

/// True when an error means "this entity no longer exists" (deleted mid-scan).
pub fn is_no_such_entity<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    matches!(err, SdkError::ServiceError(se) if se.err().code() == Some("NoSuchEntity"))
}

/// The result of listing something of one user: `None` when the user was deleted mid-scan
/// (`NoSuchEntity`), the classified error otherwise.
pub fn of_user<T, E>(
    api: &str,
    result: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Result<Option<T>, CollectorError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_no_such_entity(&e) => Ok(None),
        Err(e) => Err(classify(api, e)),
    }
}
