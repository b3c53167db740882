//! Serving and graceful shutdown. On SIGTERM or SIGINT the app reports not-ready at once but
//! keeps accepting connections while requests are in flight, so a load balancer still gets
//! its 503 from /ready; then it stops accepting, lets the last requests finish and exits 0.
//! The whole drain is capped at ten seconds (below Kubernetes' default 30 s grace period).

use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep, timeout_at};

use crate::routes::{self, App};

/// Longest time from the shutdown signal to exit.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(app: &'static App) -> io::Result<()> {
    // Install the handlers before listening, so a signal right after start is not fatal.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;

    let listener = TcpListener::bind(app.config.addr).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {}: {e}", app.config.addr),
        )
    })?;
    eprintln!(
        "demo-app {} (commit {}) listening on {}",
        app.config.version,
        app.config.commit,
        listener.local_addr()?
    );
    // Responses are written in one piece; without Nagle they leave at once.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let serve = axum::serve(listener, routes::router(app)).with_graceful_shutdown(async {
        let _ = stop_rx.await;
    });
    let mut server = tokio::spawn(serve.into_future());

    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        result = &mut server => {
            return result.map_err(io::Error::other).and_then(|r| r)
                .and(Err(io::Error::other("server stopped unexpectedly")));
        }
    };
    app.ready.store(false, Ordering::Relaxed);
    let deadline = Instant::now() + DRAIN_LIMIT;
    eprintln!("demo-app: {name} received, /ready now answers 503; draining");

    // Keep accepting while requests run (each /ready probe counts itself, briefly).
    while app.metrics.in_flight.get() > 0 && Instant::now() < deadline {
        sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(());
    match timeout_at(deadline, server).await {
        Ok(_) => eprintln!("demo-app: all requests finished, exiting"),
        Err(_) => eprintln!(
            "demo-app: requests still running after {} s, exiting anyway",
            DRAIN_LIMIT.as_secs()
        ),
    }
    Ok(())
}
