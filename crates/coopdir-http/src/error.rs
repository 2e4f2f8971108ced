//! The one place where errors become HTTP responses: RFC 9457 problem details.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coopdir_access::AccessError;
use coopdir_ldp::{LdpError, report_json};
use coopdir_search::SearchError;
use serde_json::{Value, json};

/// An error as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Short, stable identifier (the last segment of the problem `type`).
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Members added to the problem body.
    pub extra: Vec<(&'static str, Value)>,
    pub headers: Vec<(header::HeaderName, String)>,
}

const PROBLEM_BASE: &str = "https://w3id.org/coopdir/problems/";

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            detail: detail.into(),
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            format!("nothing at {path}; GET / lists the containers"),
        )
    }

    pub fn method_not_allowed(allow: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method Not Allowed",
            detail,
        )
        .with_header(header::ALLOW, allow)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"coopdir\"")
    }

    pub fn unsupported_media_type(detail: impl Into<String>, accepted: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            detail,
        )
        .with_header(header::ACCEPT, accepted)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload Too Large",
            format!(
                "the body is larger than the limit of {limit} bytes; split the data into several requests or use `coopdir import`"
            ),
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad Request",
            detail,
        )
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal Server Error",
            "the server failed; the error is in its log, and nothing was changed",
        )
    }
}

impl From<LdpError> for ApiError {
    fn from(e: LdpError) -> Self {
        match e {
            LdpError::NotFound(path) => ApiError::not_found(&path),
            LdpError::MethodNotAllowed(detail) => {
                ApiError::method_not_allowed("GET, HEAD, OPTIONS, POST", detail)
            }
            LdpError::PreconditionFailed { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition Failed",
                e.to_string(),
            ),
            LdpError::Conflict(detail) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            LdpError::ConflictWithReport { message, report } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", message);
                err.extra.push(("report", report_json(&report)));
                err
            }
            LdpError::Invalid(report) => {
                let summary: Vec<String> = report
                    .violations()
                    .take(5)
                    .map(|r| r.message.clone())
                    .collect();
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "shape-violation",
                    "Shape Violation",
                    format!(
                        "the data does not conform to the shapes: {}",
                        summary.join("; ")
                    ),
                );
                err.extra.push(("report", report_json(&report)));
                err
            }
            LdpError::Unprocessable(detail) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable Content",
                detail,
            ),
            LdpError::Syntax(
                e @ (coopdir_syntax::SyntaxError::TooManyTriples { .. }
                | coopdir_syntax::SyntaxError::TooDeep { .. }),
            ) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-complex",
                "Content Too Large",
                e.to_string(),
            ),
            LdpError::Syntax(e) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                "Malformed Body",
                e.to_string(),
            ),
            LdpError::BadPatch(detail) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad-patch", "Bad Patch", detail)
            }
            LdpError::Store(e) => ApiError::internal(e),
            e @ (LdpError::BaseUrlMismatch { .. } | LdpError::Spill { .. }) => {
                ApiError::internal(e)
            }
            LdpError::Access(e) => e.into(),
            LdpError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated(detail) => ApiError::unauthorized(detail),
            AccessError::Forbidden(detail) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            AccessError::NotFound(detail) => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not Found", detail)
            }
            AccessError::Conflict(detail) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            }
            AccessError::Invalid(detail) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "Invalid Input",
                detail,
            ),
            AccessError::WeakPassword(detail) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak-password",
                "Weak Password",
                detail,
            ),
            AccessError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too Many Requests",
                    format!("too many failed logins: try again in {seconds} seconds"),
                )
                .with_header(header::RETRY_AFTER, seconds.to_string())
            }
            AccessError::Store(e) => ApiError::internal(e),
            AccessError::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::BadQuery {
                message,
                unknown,
                suggestions,
            } => {
                let mut err = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad-query",
                    "Bad Search Query",
                    message,
                );
                if !unknown.is_empty() {
                    err.extra.push(("unknown", json!(unknown)));
                }
                if !suggestions.is_empty() {
                    err.extra.push(("suggestions", json!(suggestions)));
                }
                err
            }
            SearchError::NotFound(detail) => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not Found", detail)
            }
            e @ (SearchError::Store(_) | SearchError::Index(_) | SearchError::Io { .. }) => {
                ApiError::internal(e)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        for (key, value) in self.extra {
            body[key] = value;
        }
        let mut response = (
            self.status,
            serde_json::to_string_pretty(&body).unwrap_or_default(),
        )
            .into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        response
    }
}
