//! The part the ingress stand-ins share (tests/up_support, tests/existing_support): a TLS
//! listener answering one HTTP/1.1 request per connection by its Host, what a demo host's
//! answer depends on, and starting the listener when `up` reaches the demo-apps step.

use fake_apiserver::Fake;
use kindling::report::{Event, Reporter, SharedReporter};
use std::sync::Arc;

pub const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
pub const UNAVAILABLE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
pub const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Whether the demo-app Rollout in `namespace` serves: Healthy, or Paused (awaiting
/// promotion, the active Service still selects the stable pods).
pub fn demo_serves(fake: &Fake, namespace: Option<&str>) -> bool {
    fake.get("argoproj.io/v1alpha1", "Rollout", namespace, "demo-app")
        .is_some_and(|r| matches!(r["status"]["phase"].as_str(), Some("Healthy" | "Paused")))
}

/// Serves TLS on `address` with `config`: each connection, while `listening()` holds (else
/// it is dropped, as by a port nothing listens on), gets `respond(host)` to its one request.
pub fn serve(
    address: (std::net::IpAddr, u16),
    config: rustls::ServerConfig,
    listening: impl Fn() -> bool + Send + Sync + 'static,
    respond: impl Fn(&str) -> &'static [u8] + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind(address).unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (listening, respond) = (Arc::new(listening), Arc::new(respond));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, listening, respond) =
                (acceptor.clone(), listening.clone(), respond.clone());
            tokio::spawn(async move {
                if !listening() {
                    return;
                }
                if let Ok(tls) = acceptor.accept(stream).await {
                    let _ = answer(tls, &*respond).await;
                }
            });
        }
    })
}

/// One HTTP/1.1 exchange: reads the request head, answers by its Host (lower case, no port).
async fn answer(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    respond: &(dyn Fn(&str) -> &'static [u8] + Send + Sync),
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request).to_lowercase();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host:"))
        .map(|h| h.trim().split(':').next().unwrap_or("").to_string())
        .unwrap_or_default();
    tls.write_all(respond(&host)).await?;
    tls.shutdown().await
}

/// A stand-in's listener task: at most one, stopped (its port freed) on `stop`.
#[derive(Default)]
pub struct Task(pub std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>);

impl Task {
    /// Stops serving and frees the port.
    pub async fn stop(&self) {
        let task = self.0.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Forwards every event to `inner`, and calls `start` when the demo-apps step starts (when
/// kindling begins checking the demo hosts' answers).
pub struct StartOnDemoApps {
    pub inner: SharedReporter,
    pub start: Box<dyn Fn() + Send + Sync>,
}

impl Reporter for StartOnDemoApps {
    fn report(&self, event: Event) {
        if matches!(&event, Event::StepStarted { step, .. } if step == "demo-apps") {
            (self.start)();
        }
        self.inner.report(event);
    }
}
