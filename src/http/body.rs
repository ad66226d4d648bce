//! JSON request bodies that fail with a problem naming the field: malformed
//! JSON is a 400 saying where, a wrong or missing field a 422 saying which
//! (e.g. `state: unknown variant "lunch"`), never a panic.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|err| Problem::new(StatusCode::BAD_REQUEST, err.body_text()))?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a JSON document, naming the field that is wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let status = if inner.is_data() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        match path.as_str() {
            "." | "" => Problem::new(status, format!("request body: {inner}")),
            field => {
                let problem = Problem::invalid(field, inner);
                if status == StatusCode::BAD_REQUEST {
                    problem.bad_request()
                } else {
                    problem
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Sample {
        state: String,
        priority: u8,
    }

    #[test]
    fn a_good_body_parses() {
        let sample: Sample = parse(br#"{"state":"ready","priority":3}"#).expect("valid body");
        assert_eq!((sample.state.as_str(), sample.priority), ("ready", 3));
    }

    #[test]
    fn a_wrong_field_is_named() {
        let problem =
            parse::<Sample>(br#"{"state":"ready","priority":12345}"#).expect_err("refused");
        assert_eq!(problem.status, 422);
        assert!(
            problem.detail.starts_with("`priority`"),
            "{}",
            problem.detail
        );
        let missing = parse::<Sample>(br#"{"priority":1}"#).expect_err("refused");
        assert!(missing.detail.contains("state"), "{}", missing.detail);
    }

    #[test]
    fn malformed_json_is_a_400() {
        for body in [&b"{"[..], b"", b"\xff\xfe", br#"{"state": "rea"#] {
            let problem = parse::<Sample>(body).expect_err("refused");
            assert_eq!(problem.status, 400);
        }
    }
}
