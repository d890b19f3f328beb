//! The one JSON error shape of the HTTP API, and the one place where errors become statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error answered to a client. Internal details are logged, never returned.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad z/x/y, bbox, lat/lon, limit…).
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such dataset, feature, tile set or page.
    #[error("{0}")]
    NotFound(String),
    /// 406: the format asked for is not offered.
    #[error("{0}")]
    NotAcceptable(String),
    /// 503: the data is not loaded yet.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or a failing dependency; the message is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// 401: no valid session or API token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but the role (or a missing CSRF token) does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the action does not fit the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the upload or archive is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: too many failed sign-ins, or sign-in attempts from one address.
    #[error("{0}")]
    TooManyRequests(String),
    /// 503 with `Retry-After`: the route is at its cap of requests at once (`http::limits`).
    #[error("{0}")]
    Busy(String),
    /// 507: the disk is full; nothing was changed (the message names the file).
    #[error("{0}")]
    DiskFull(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::DiskFull(_) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    /// A stable code for machines.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::TooManyRequests(_) => "too_many_requests",
            ApiError::Busy(_) => "busy",
            ApiError::DiskFull(_) => "disk_full",
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::DiskFull(_) => ApiError::DiskFull(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Filters, sortby and properties of OGC API items: a refused filter is the client's (400),
/// one past the text limit is too large (413), one past its time budget is 503.
impl From<crate::filter::FilterError> for ApiError {
    fn from(e: crate::filter::FilterError) -> Self {
        use crate::filter::FilterError as E;
        match e {
            E::TooLong(_) => ApiError::PayloadTooLarge(e.to_string()),
            E::TooSlow => ApiError::Unavailable(e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// The one place where the staff console's errors become statuses (pages draw the same status).
impl From<crate::admin::AdminError> for ApiError {
    fn from(e: crate::admin::AdminError) -> Self {
        use crate::admin::AdminError as E;
        match e {
            E::Unauthenticated => ApiError::Unauthorized(e.to_string()),
            E::Forbidden(m) => ApiError::Forbidden(m),
            E::LockedOut(_) | E::TooManyAttempts(_) => ApiError::TooManyRequests(e.to_string()),
            E::Busy(_) => ApiError::Unavailable(e.to_string()),
            E::BadInput(m) => ApiError::BadRequest(m),
            E::NotFound(m) => ApiError::NotFound(m),
            E::Conflict(m) => ApiError::Conflict(m),
            E::TooLarge(_) | E::FieldTooLarge { .. } | E::TooSlow(_) => {
                ApiError::PayloadTooLarge(e.to_string())
            }
            E::ArchiveRefused {
                message,
                too_large: true,
            } => ApiError::PayloadTooLarge(message),
            E::ArchiveRefused { message, .. } => ApiError::BadRequest(message),
            E::Store(crate::store::StoreError::NoSuchVersion(d, v)) => {
                ApiError::NotFound(format!("{d} has no version {v}"))
            }
            E::DiskFull(_) | E::Store(crate::store::StoreError::DiskFull(_)) => {
                ApiError::DiskFull(e.to_string())
            }
            E::Ingest(crate::ingest::IngestError::Store(crate::store::StoreError::DiskFull(_))) => {
                ApiError::DiskFull(e.to_string())
            }
            E::Io(ref io) if crate::store::is_disk_full(io) => ApiError::DiskFull(
                "ディスクの空きがないため書き込めませんでした。何も変更していません / the disk is full: nothing was changed".into(),
            ),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(m) => {
                tracing::error!("internal error: {m}");
                "internal server error".to_string()
            }
            other => other.to_string(),
        };
        let body = serde_json::json!({
            "ok": false,
            "status": status.as_u16(),
            "code": self.code(),
            "error": message,
        });
        (status, Json(body)).into_response()
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
