//! The HTTP side of IVR `webhook` nodes: POSTs the node's JSON body to the
//! business system (CRM) with the node's timeout and turns the reply into
//! the execution's [`IvrEvent`]. A 2xx reply whose body is a JSON object
//! succeeds, its string, number and boolean fields becoming text the flow
//! may copy into variables; anything else (an error status, a redirect, a
//! body that is not a JSON object or is larger than 64 KiB, a timeout, no
//! connection) fails, and the reason is logged for the operator.
//!
//! One `reqwest` client (rustls, webpki roots, no redirects) serves every
//! call; it is made on first use.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use crate::ivr::exec::IvrEvent;

/// The largest reply body read; a CRM answer is a few fields.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Why a webhook call failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum WebhookError {
    #[error("cannot make the HTTP client: {0}")]
    Client(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered {0}")]
    Status(reqwest::StatusCode),
    #[error("reply is larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    #[error("reply is not JSON: {0}")]
    NotJson(String),
    #[error("reply is JSON but not an object")]
    NotObject,
}

/// POSTs `body` to `url` and waits at most `timeout`; success holds the
/// reply's fields as text.
pub(super) async fn call(
    url: &str,
    body: String,
    timeout: Duration,
) -> Result<BTreeMap<String, String>, WebhookError> {
    let client = client()?;
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .body(body);
    let reply = async {
        let mut response = request
            .send()
            .await
            .map_err(|e| request_error(e, timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WebhookError::Status(status));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| request_error(e, timeout))?
        {
            if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(WebhookError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        fields(&bytes)
    };
    tokio::time::timeout(timeout, reply)
        .await
        .map_err(|_| WebhookError::Timeout(timeout))?
}

/// The event for the execution, logging why a call failed.
pub(super) async fn event(url: String, body: String, timeout: Duration) -> IvrEvent {
    metrics::describe_counter!(
        "kefu_ivr_webhooks_total",
        "IVR webhook calls, by outcome (success, failure)"
    );
    match call(&url, body, timeout).await {
        Ok(reply) => {
            tracing::info!(%url, fields = reply.len(), "webhook answered");
            metrics::counter!("kefu_ivr_webhooks_total", "outcome" => "success").increment(1);
            IvrEvent::WebhookSucceeded(reply)
        }
        Err(why) => {
            tracing::warn!(%url, %why, "webhook failed; taking the failure exit");
            metrics::counter!("kefu_ivr_webhooks_total", "outcome" => "failure").increment(1);
            IvrEvent::WebhookFailed
        }
    }
}

fn client() -> Result<&'static reqwest::Client, WebhookError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|why| WebhookError::Client(why.clone()))
}

fn request_error(error: reqwest::Error, timeout: Duration) -> WebhookError {
    if error.is_timeout() {
        return WebhookError::Timeout(timeout);
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    WebhookError::Request(text)
}

/// The reply's top-level string, number and boolean fields as text; other
/// values (null, arrays, objects) are left out.
fn fields(body: &[u8]) -> Result<BTreeMap<String, String>, WebhookError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let serde_json::Value::Object(object) = value else {
        return Err(WebhookError::NotObject);
    };
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| match value {
            serde_json::Value::String(text) => Some((name, text)),
            serde_json::Value::Number(number) => Some((name, number.to_string())),
            serde_json::Value::Bool(flag) => Some((name, flag.to_string())),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;

    /// A CRM on a free loopback port: `/vip` answers `{"vip":"gold"}` with
    /// the request's content type echoed, `/broken` answers 500, `/slow`
    /// answers after 5 s, `/list` answers a JSON array.
    async fn crm() -> String {
        let app = Router::new()
            .route(
                "/vip",
                post(|headers: HeaderMap, body: String| async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let caller: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    axum::Json(serde_json::json!({
                        "vip": "gold",
                        "score": 7,
                        "active": true,
                        "tags": ["a"],
                        "content_type": content_type,
                        "caller": caller["caller"],
                    }))
                }),
            )
            .route(
                "/broken",
                post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "{}"
                }),
            )
            .route("/list", post(|| async { "[1, 2]" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn webhook_posts_json_and_reads_scalar_reply_fields_as_text() {
        let base = crm().await;
        let reply = call(
            &format!("{base}/vip"),
            r#"{"caller": "+8613800000000"}"#.to_owned(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(reply["vip"], "gold");
        assert_eq!(reply["score"], "7");
        assert_eq!(reply["active"], "true");
        assert_eq!(reply["content_type"], "application/json");
        assert_eq!(reply["caller"], "+8613800000000");
        assert!(!reply.contains_key("tags"), "arrays are left out");
    }

    #[tokio::test]
    async fn webhook_error_status_timeout_non_object_and_no_server_fail() {
        let base = crm().await;
        let body = || "{}".to_owned();
        let wait = Duration::from_secs(10);
        assert!(matches!(
            call(&format!("{base}/broken"), body(), wait).await,
            Err(WebhookError::Status(status)) if status == 500
        ));
        assert!(matches!(
            call(&format!("{base}/slow"), body(), Duration::from_millis(200)).await,
            Err(WebhookError::Timeout(_))
        ));
        assert!(matches!(
            call(&format!("{base}/list"), body(), wait).await,
            Err(WebhookError::NotObject)
        ));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let nobody = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        assert!(matches!(
            call(&nobody, body(), wait).await,
            Err(WebhookError::Request(_))
        ));
        assert_eq!(
            event(format!("{base}/broken"), body(), wait).await,
            IvrEvent::WebhookFailed
        );
    }

    #[test]
    fn webhook_reply_must_be_a_json_object() {
        assert!(matches!(fields(b"not json"), Err(WebhookError::NotJson(_))));
        assert!(matches!(fields(b"\"gold\""), Err(WebhookError::NotObject)));
        assert_eq!(
            fields(br#"{"vip": null, "name": "Li"}"#).unwrap(),
            BTreeMap::from([("name".to_owned(), "Li".to_owned())])
        );
    }
}
