//! Helpers of the `Idempotency-Key` tests: keyed requests, their answers with the replay
//! header, a second application on the same database, and a proxy that loses answers.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use api_actix::settings::Settings;
use api_actix::startup::{store_settings, Application};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::Notify;

use super::TestApp;

pub const KEY: &str = "Idempotency-Key";

/// What a test looks at in an answer: status, replay header, `Retry-After`, body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    pub replayed: bool,
    pub retry_after: Option<String>,
    pub text: String,
}

impl Answer {
    pub async fn of(response: Response) -> Self {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let replayed = match header("idempotent-replayed").as_deref() {
            None => false,
            Some("true") => true,
            Some(other) => panic!("Idempotent-Replayed: {other}"),
        };
        let retry_after = header("retry-after");
        Self {
            status: response.status(),
            replayed,
            retry_after,
            text: response.text().await.expect("read the body"),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    /// A request with `Idempotency-Key: key` and, when given, a JSON body.
    pub fn keyed(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: &str,
        body: Option<&Value>,
    ) -> RequestBuilder {
        let request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header(KEY, key);
        match body {
            Some(body) => request.json(body),
            None => request,
        }
    }

    pub async fn send_keyed(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Answer {
        let response = self
            .keyed(method, path, token, key, body)
            .send()
            .await
            .expect("send the request");
        Answer::of(response).await
    }
}

/// Sends every request at the same instant (all wait behind one barrier).
pub async fn send_all_together(requests: Vec<RequestBuilder>) -> Vec<Answer> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                Answer::of(request.send().await.expect("send the request")).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("request task"));
    }
    answers
}

/// Another application on `app`'s database, as a second server process would be, with
/// its settings adjusted; returns its base URL.
pub async fn serve_beside(app: &TestApp, adjust: impl FnOnce(&mut Settings)) -> String {
    let mut settings = app.settings.clone();
    adjust(&mut settings);
    let database =
        infra_diesel::Database::connect(&store_settings(&settings.database)).expect("pool");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
    let beside = Application::with_listener(settings, database, listener).expect("build");
    let address = format!("http://127.0.0.1:{}", beside.port());
    tokio::spawn(beside.run());
    address
}

/// A TCP proxy that forwards requests to the server but never forwards its answers: as
/// soon as the server starts answering it says so ([`LosingProxy::answered`]) and closes
/// the client's connection. The client sees its connection drop, as when a network
/// fails or a process dies between the commit and the reply.
pub struct LosingProxy {
    pub port: u16,
    answered: Arc<Notify>,
    accept: tokio::task::JoinHandle<()>,
}

impl LosingProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let answered = Arc::new(Notify::new());
        let notify = answered.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let notify = notify.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut from_client, to_client) = inbound.into_split();
                    let (mut from_server, mut to_server) = outbound.into_split();
                    let forward = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                    });
                    let mut first = [0u8; 1];
                    if matches!(from_server.read(&mut first).await, Ok(n) if n > 0) {
                        notify.notify_one();
                    }
                    // Both halves of the client's connection go: it never gets an answer.
                    drop(to_client);
                    forward.abort();
                });
            }
        });
        Self {
            port,
            answered,
            accept,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Waits until the server has started answering a request sent through the proxy.
    pub async fn answered(&self) {
        self.answered.notified().await;
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
