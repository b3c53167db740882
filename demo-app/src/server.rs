//! Serving and graceful shutdown.
//!
//! Threads: each request thread runs a single-threaded runtime with its own listening socket
//! on the same address (SO_REUSEPORT), and the kernel spreads new connections over them. A
//! connection stays on the thread that accepted it, so a request never crosses threads: no
//! work stealing, no cross-thread wake-ups, and per request the app pays for its own work
//! and the two system calls that read and answer it.
//!
//! Shutdown: on SIGTERM or SIGINT the app reports not-ready at once but keeps accepting
//! connections while requests are in flight, so a load balancer still gets its 503 from
//! /ready; then it stops accepting, lets the last requests finish and exits 0. The whole
//! drain is capped at ten seconds (below Kubernetes' default 30 s grace period).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, sleep, timeout_at};

use crate::routes::{self, App};
use crate::track::Track;

/// Longest time from the shutdown signal to exit.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Pending connections each listening socket queues before the app accepts them.
const BACKLOG: u32 = 1024;

/// The runtime of one request thread (the main thread's included).
pub fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

pub async fn run(app: &'static App) -> io::Result<()> {
    // Install the handlers before listening, so a signal right after start is not fatal.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;

    let threads = app.config.worker_threads;
    let cannot_listen = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("cannot listen on {}: {e}", app.config.addr),
        )
    };
    // Shared sockets would let a second app of the same user join a port already in use
    // instead of failing, so the address is first claimed without sharing: that fails as
    // usual when the port is taken, and resolves port 0 to the port every thread then uses.
    let addr = if threads > 1 {
        listen(app.config.addr, false)
            .and_then(|probe| probe.local_addr())
            .map_err(cannot_listen)?
    } else {
        app.config.addr
    };
    let listener = listen(addr, threads > 1).map_err(cannot_listen)?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(());
    let mut stopped = Vec::with_capacity(threads);
    stopped.push(spawn_local_server(listener, app, stop_rx.clone()));
    for n in 1..threads {
        stopped.push(spawn_thread_server(n, addr, app, stop_rx.clone()).await?);
    }
    drop(stop_rx);
    eprintln!(
        "demo-app {} (commit {}) listening on {addr}",
        app.config.version, app.config.commit
    );

    let mut all_stopped = std::pin::pin!(async {
        for server in stopped {
            server.await.map_err(io::Error::other)??;
        }
        Ok::<(), io::Error>(())
    });
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        result = &mut all_stopped => {
            return result.and(Err(io::Error::other("server stopped unexpectedly")));
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
    match timeout_at(deadline, all_stopped).await {
        Ok(_) => eprintln!("demo-app: all requests finished, exiting"),
        Err(_) => eprintln!(
            "demo-app: requests still running after {} s, exiting anyway",
            DRAIN_LIMIT.as_secs()
        ),
    }
    Ok(())
}

/// A listening socket on `addr`; `shared` lets the other request threads listen there too.
fn listen(addr: SocketAddr, shared: bool) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if shared {
        socket.set_reuseport(true)?;
    }
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

type Stopped = oneshot::Receiver<io::Result<()>>;

/// Serves `listener` on the calling thread's runtime; the receiver gets the outcome.
fn spawn_local_server(
    listener: TcpListener,
    app: &'static App,
    stop: watch::Receiver<()>,
) -> Stopped {
    let (done_tx, done_rx) = oneshot::channel();
    tokio::spawn(async move {
        let _ = done_tx.send(serve(listener, routes::service(app), stop).await);
    });
    done_rx
}

/// Starts request thread `n` with its own runtime and socket on `addr`; returns once the
/// socket listens, or with the reason it cannot.
async fn spawn_thread_server(
    n: usize,
    addr: SocketAddr,
    app: &'static App,
    stop: watch::Receiver<()>,
) -> io::Result<Stopped> {
    let (listening_tx, listening_rx) = oneshot::channel::<io::Result<()>>();
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("request-{n}"))
        .spawn(move || {
            let runtime = match runtime() {
                Ok(runtime) => runtime,
                Err(e) => return drop(listening_tx.send(Err(e))),
            };
            runtime.block_on(async move {
                let listener = match listen(addr, true) {
                    Ok(listener) => listener,
                    Err(e) => return drop(listening_tx.send(Err(e))),
                };
                let _ = listening_tx.send(Ok(()));
                let _ = done_tx.send(serve(listener, routes::service(app), stop).await);
            });
        })?;
    listening_rx
        .await
        .map_err(io::Error::other)?
        .map_err(|e| io::Error::new(e.kind(), format!("request thread {n}: {e}")))?;
    Ok(done_rx)
}

/// Accepts connections until `stop` changes, then waits for every connection to finish.
/// Each connection is served by hyper's HTTP/1 state machine directly: what axum::serve adds
/// on top (protocol sniffing for HTTP/2, upgrade support) costs time on every request and the
/// app needs neither.
async fn serve(
    listener: TcpListener,
    service: Track<Router>,
    mut stop: watch::Receiver<()>,
) -> io::Result<()> {
    // Every connection task holds a clone of `open`; `all_closed` resolves when the last is gone.
    let (all_closed, open) = watch::channel(());
    // Connections wait on a channel of this thread's own: a waiting receiver takes its
    // channel's lock each time its task runs, and one lock shared by every thread would be
    // contended on every request.
    let (stop_connections, connections_stop) = watch::channel(());
    let h1 = http1::Builder::new();
    loop {
        let tcp = tokio::select! {
            biased;
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        // Responses are written in one piece; without Nagle they leave at once.
        let _ = tcp.set_nodelay(true);
        let conn =
            h1.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service.clone()));
        let (mut stop, open) = (connections_stop.clone(), open.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                biased;
                _ = conn.as_mut() => return,
                _ = stop.changed() => {}
            }
            // Finish the request being served, then close instead of keeping the connection alive.
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
            drop(open);
        });
    }
    drop((listener, open));
    let _ = stop_connections.send(());
    all_closed.closed().await;
    Ok(())
}

/// Connection errors concern one client only; anything else (such as running out of file
/// descriptors) is reported and retried after a pause instead of spinning.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    eprintln!("demo-app: cannot accept a connection: {e}");
    sleep(Duration::from_secs(1)).await;
}
