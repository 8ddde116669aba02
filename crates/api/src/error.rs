//! JSON errors and the extractors that produce them.
//!
//! Axum's own rejections respond with plain text. [`JsonBody`] and [`PathParam`] wrap the
//! standard extractors and turn each rejection into an [`ApiError`], which the client
//! receives as an [`ErrorBody`] with a 4xx status.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hashbridge_crypto::Hash32;
use serde::de::DeserializeOwned;

use crate::backend::BackendError;
use crate::types::ErrorBody;

/// Maximum length of a client-supplied value quoted in an error message, in characters.
const MAX_QUOTED_CHARS: usize = 80;

/// An HTTP status with an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Returns a 413 naming the configured limit.
    pub fn body_too_large(max_body_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body is larger than the limit of {max_body_bytes} bytes; split the batch or raise api.max_body_bytes"),
        )
    }
}

impl From<BackendError> for ApiError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Invalid { code, message } => Self::new(StatusCode::BAD_REQUEST, code, message),
            BackendError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            BackendError::Unavailable { code, message } => Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message),
            BackendError::Internal { message } => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Other 5xx statuses (an unhealthy node, a full mempool, a timeout) are expected
        // under load and appear in the per-request debug log.
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(target: "hashbridge::api", status = self.status.as_u16(), code = self.code, message = %self.message, "request failed");
        }
        let body = ErrorBody { error: self.code.to_string(), message: self.message };
        (self.status, Json(body)).into_response()
    }
}

/// Parses a 32-byte hash from a path segment, naming the segment and the value on failure.
pub fn parse_hash(name: &str, raw: &str) -> Result<Hash32, ApiError> {
    Hash32::parse(raw).map_err(|error| ApiError::bad_request("invalid_hex", format!("invalid {name}: {error}")))
}

/// Parses a block height: 1 to 20 ASCII digits that fit in a `u64`. Signs, spaces and
/// other forms that `u64::from_str` would accept are rejected.
pub fn parse_height(raw: &str) -> Result<u64, ApiError> {
    let digits_only = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    let parsed = if digits_only { raw.parse::<u64>().ok() } else { None };
    parsed.ok_or_else(|| {
        ApiError::bad_request(
            "invalid_height",
            format!(
                "invalid block height {:?}: expected a decimal number from 0 to {} or `latest`",
                quote(raw),
                u64::MAX
            ),
        )
    })
}

/// Shortens a client-supplied value for an error message.
pub fn quote(raw: &str) -> String {
    if raw.chars().count() <= MAX_QUOTED_CHARS {
        return raw.to_string();
    }
    let head: String = raw.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{head}...")
}

/// The body size limit of the router, which [`JsonBody`] names in its 413 message.
pub trait BodyLimit {
    fn max_body_bytes(&self) -> usize;
}

/// A JSON request body whose rejections are [`ApiError`]s: 415 for a missing or non-JSON
/// content type, 413 for a body over the limit, 400 for malformed JSON or a body that does
/// not match the expected type.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: BodyLimit + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let max_body_bytes = state.max_body_bytes();
        check_json_content_type(request.headers())?;
        // A declared length over the limit is rejected before any of the body is read.
        if declared_length(request.headers()).is_some_and(|length| length > max_body_bytes) {
            return Err(ApiError::body_too_large(max_body_bytes));
        }

        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(max_body_bytes)
            } else {
                ApiError::bad_request(
                    "invalid_body",
                    format!("failed to read the request body: {}", rejection.body_text()),
                )
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("content type {:?} is not supported; send the body as application/json", quote(content_type)),
    ))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Deserializes `bytes`, keeping serde's message, which names the field path, line and
/// column. Axum's text adds a fixed prefix before the first `": "`, which is dropped.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use axum::extract::rejection::JsonRejection;

    match Json::<T>::from_bytes(bytes) {
        Ok(Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(error)) => Err(ApiError::bad_request(
            "invalid_body",
            format!("invalid request body: {}", serde_detail(&error.body_text())),
        )),
        Err(rejection) => Err(ApiError::bad_request(
            "invalid_json",
            format!("malformed JSON: {}", serde_detail(&rejection.body_text())),
        )),
    }
}

fn serde_detail(body_text: &str) -> &str {
    body_text.split_once(": ").map_or(body_text, |(_, detail)| detail)
}

/// A path parameter whose rejection is a 400 [`ApiError`] instead of plain text.
#[derive(Debug, Clone)]
pub struct PathParam<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParam<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathParam(value)),
            Err(rejection) if rejection.status().is_server_error() => Err(ApiError::internal(rejection.body_text())),
            Err(rejection) => Err(ApiError::bad_request("invalid_path", rejection.body_text())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn height_accepts_plain_digits() {
        assert_eq!(parse_height("0").unwrap(), 0);
        assert_eq!(parse_height("18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn height_rejects_other_forms() {
        for raw in ["", "+1", "-1", " 1", "1.0", "0x10", "18446744073709551616", "abc"] {
            let error = parse_height(raw).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{raw:?}");
            assert_eq!(error.code, "invalid_height", "{raw:?}");
        }
    }

    #[test]
    fn quote_truncates_long_values() {
        let long = "a".repeat(500);
        assert_eq!(quote(&long).len(), MAX_QUOTED_CHARS + 3);
        assert_eq!(quote("short"), "short");
    }

    #[test]
    fn backend_errors_map_to_statuses() {
        let cases = [
            (BackendError::Invalid { code: "bad", message: "m".into() }, StatusCode::BAD_REQUEST),
            (BackendError::Conflict { code: "dup", message: "m".into() }, StatusCode::CONFLICT),
            (BackendError::Unavailable { code: "full", message: "m".into() }, StatusCode::SERVICE_UNAVAILABLE),
            (BackendError::Internal { message: "m".into() }, StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status, status);
        }
    }
}
