//! API errors as RFC 9457 problem documents (`application/problem+json`), so
//! every 4xx/5xx says in words what was wrong.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` for plain HTTP statuses).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong in this request, for a person to read.
    pub detail: String,
    /// The request field that is wrong (e.g. `skills[0].level`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem with the status's own title and the given detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    /// 422 naming the field that is wrong: the detail reads "`field`: message".
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Problem {
            field: Some(field.to_owned()),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("`{field}`: {message}"),
            )
        }
    }

    /// 400 for a query parameter whose `value` breaks `rule`: "query
    /// parameter `field` = "value" rule".
    pub fn bad_query(field: &str, value: &str, rule: &str) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("query parameter `{field}` = {value:?} {rule}"),
        )
    }

    /// The same problem with a 400 status (the request is malformed rather
    /// than wrong).
    pub fn bad_request(mut self) -> Self {
        self.status = StatusCode::BAD_REQUEST.as_u16();
        self.title = StatusCode::BAD_REQUEST
            .canonical_reason()
            .unwrap_or("Error")
            .to_owned();
        self
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(detail: impl Into<String>) -> Response {
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, detail).into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kefu\""),
        );
        response
    }

    /// 403: the token is valid but may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404 naming what was not found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what } => Problem::not_found(format!("{what} not found")),
            other => {
                tracing::error!(error = %other, "storage error while serving a request");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage is unavailable; retry later",
                )
            }
        }
    }
}
