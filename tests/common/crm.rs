//! A stand-in CRM for webhook tests: an HTTP server on a free loopback port
//! (axum on a runtime of its own) that records every request and answers by
//! path — `/vip`: 200 `{"vip_level": "gold", "customer_name": "Li Lei"}`;
//! `/broken`: 500; `/slow`: after 10 s.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;

/// One request the CRM received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub content_type: String,
    pub body: String,
}

/// The running CRM; it stops with the test process.
pub struct Crm {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Crm {
    pub fn start() -> Crm {
        let received = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let state = received.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/vip", post(answer))
                    .route("/broken", post(answer))
                    .route("/slow", post(answer))
                    .with_state(state);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the CRM");
                tx.send(listener.local_addr().expect("address"))
                    .expect("send the address");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("the CRM's address");
        Crm { addr, received }
    }

    /// `http://ADDR` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn answer(
    State(received): State<Arc<Mutex<Vec<Received>>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let path = uri.path().to_owned();
    received.lock().expect("lock").push(Received {
        path: path.clone(),
        content_type,
        body,
    });
    match path.as_str() {
        "/vip" => (
            StatusCode::OK,
            r#"{"vip_level": "gold", "customer_name": "Li Lei"}"#.to_owned(),
        ),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            (StatusCode::OK, "{}".to_owned())
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "oops".to_owned()),
    }
}
