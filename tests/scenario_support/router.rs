//! The test's ingress: an HTTPS server (certificate from a kindling CA made for the test)
//! that splits requests between demo-app backends by the weights the simulated controller
//! sets — exactly, by smooth weighted round robin, so share checks are not left to chance —
//! and forwards them over plain HTTP.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

#[derive(Default)]
struct Table {
    /// (backend port, weight, smooth-WRR current value)
    backends: Vec<(u16, i64, i64)>,
    /// Answer 502 until then (a broken switch).
    failing_until: Option<Instant>,
    /// Requests forwarded to each backend port so far.
    served: std::collections::HashMap<u16, u64>,
}

impl Table {
    fn pick(&mut self) -> Option<u16> {
        let total: i64 = self.backends.iter().map(|b| b.1).sum();
        if total <= 0 {
            return None;
        }
        for b in &mut self.backends {
            b.2 += b.1;
        }
        let best = self.backends.iter_mut().max_by_key(|b| b.2)?;
        best.2 -= total;
        Some(best.0)
    }
}

#[derive(Clone)]
pub struct Router {
    table: Arc<Mutex<Table>>,
    pub port: u16,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Router {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl Router {
    /// Serves HTTPS on a free 127.0.0.1 port with `cert_pem`/`key_pem`.
    pub async fn start(cert_pem: &str, key_pem: &str) -> Router {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .unwrap()
            .unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let table = Arc::new(Mutex::new(Table::default()));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let app = axum::Router::new()
            .fallback(forward)
            .with_state((table.clone(), client));
        let tls = TlsListener {
            inner: listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(tls, app).await;
        });
        Router {
            table,
            port,
            task: Arc::new(task),
        }
    }

    /// Sends traffic to `backends` as (port, weight); weights are relative.
    pub fn set(&self, backends: &[(u16, i64)]) {
        let mut t = self.table.lock().unwrap();
        let same = t.backends.len() == backends.len()
            && t.backends
                .iter()
                .zip(backends)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
        if !same {
            t.backends = backends.iter().map(|&(p, w)| (p, w, 0)).collect();
        }
    }

    /// How many requests this router has forwarded to the backend on `port`.
    pub fn served(&self, port: u16) -> u64 {
        self.table
            .lock()
            .unwrap()
            .served
            .get(&port)
            .copied()
            .unwrap_or(0)
    }

    /// Every request fails with 502 for `span` (what a broken cut-over looks like).
    pub fn fail_for(&self, span: Duration) {
        self.table.lock().unwrap().failing_until = Some(Instant::now() + span);
    }
}

async fn forward(
    State((table, client)): State<(Arc<Mutex<Table>>, reqwest::Client)>,
    request: Request,
) -> Response {
    let port = {
        let mut t = table.lock().unwrap();
        if t.failing_until.is_some_and(|until| Instant::now() < until) {
            None
        } else {
            let port = t.pick();
            if let Some(p) = port {
                *t.served.entry(p).or_default() += 1;
            }
            port
        }
    };
    let Some(port) = port else {
        return error(StatusCode::BAD_GATEWAY);
    };
    let path = request
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    match client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
    {
        Ok(answer) => {
            let status = answer.status();
            let body = answer.bytes().await.unwrap_or_default();
            Response::builder()
                .status(status.as_u16())
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap()
        }
        Err(_) => error(StatusCode::BAD_GATEWAY),
    }
}

fn error(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::from("bad gateway"))
        .unwrap()
}

struct TlsListener {
    inner: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.inner.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
