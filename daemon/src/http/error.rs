//! The one place where a failure becomes an admin-API response.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roster_shared::api::ApiError;

use crate::error::ServiceError;

/// An admin-API failure: status plus `{code, message}`.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HttpError {
    /// A failure with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl From<ServiceError> for HttpError {
    fn from(e: ServiceError) -> Self {
        let (status, code) = match &e {
            ServiceError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ServiceError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Conflict(_) | ServiceError::Taken(_) => {
                (StatusCode::CONFLICT, "conflict")
            }
            ServiceError::LastAdmin(_) => (StatusCode::CONFLICT, "last_admin"),
            ServiceError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ServiceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ServiceError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ServiceError::Scim(e) => (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                "bad_request",
            ),
            ServiceError::Storage(detail) => {
                tracing::error!(error = %detail, "request failed inside rosterd");
                return HttpError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "rosterd could not complete the request; the daemon's log has the details",
                );
            }
        };
        HttpError::new(status, code, e.to_string())
    }
}

impl From<JsonRejection> for HttpError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return HttpError::new(
                status,
                "too_large",
                "request body is larger than the configured limit (http.max_body_bytes)",
            );
        }
        let message = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                "request body must be JSON with Content-Type: application/json".to_string()
            }
            JsonRejection::JsonSyntaxError(e) => {
                format!("request body is not valid JSON: {}", source_text(e))
            }
            JsonRejection::JsonDataError(e) => {
                format!("request body has the wrong shape: {}", source_text(e))
            }
            other => other.body_text(),
        };
        HttpError::new(
            if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            "bad_request",
            message,
        )
    }
}

impl From<QueryRejection> for HttpError {
    fn from(r: QueryRejection) -> Self {
        let detail = match &r {
            QueryRejection::FailedToDeserializeQueryString(e) => source_text(e),
            other => other.body_text(),
        };
        HttpError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("query string is not valid: {detail}"),
        )
    }
}

/// The innermost message of a rejection (serde's own words, not axum's preamble).
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ApiError {
                code: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_shared::ValidationError;

    #[test]
    fn each_domain_error_has_its_status() {
        let table: Vec<(ServiceError, StatusCode, &str)> = vec![
            (
                ValidationError::EmailEmpty.into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
            (
                ServiceError::BadRequest("x".into()),
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            (
                ServiceError::NotFound("x".into()),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                ServiceError::Conflict("x".into()),
                StatusCode::CONFLICT,
                "conflict",
            ),
            (
                ServiceError::LastAdmin("x".into()),
                StatusCode::CONFLICT,
                "last_admin",
            ),
            (
                ServiceError::Unauthorized("x".into()),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
            (
                ServiceError::Storage("disk on fire".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
            ),
        ];
        for (err, status, code) in table {
            let h = HttpError::from(err);
            assert_eq!((h.status, h.code), (status, code));
            assert!(
                !h.message.contains("disk on fire"),
                "internal detail leaked"
            );
        }
    }
}
