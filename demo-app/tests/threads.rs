//! Several request threads: each listens on the shared port with its own runtime, and the
//! app still behaves as one (one port, one set of metrics, one readiness).

mod common;

use common::{BIN, DemoApp, http_get};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn every_request_thread_serves_and_counts_into_the_same_metrics() {
    let app = DemoApp::start(&[("WORKER_THREADS", "4")]);
    // Many connections at once, so the kernel spreads them over the threads' sockets.
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let addr = app.addr;
            std::thread::spawn(move || http_get(addr, "/api/data").status)
        })
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), 200);
    }
    let metrics = app.metrics();
    let served = metrics.value(
        "http_requests_total",
        &[("method", "GET"), ("route", "/api/data"), ("status", "200")],
    );
    assert_eq!(served, 32.0);
    assert_eq!(
        metrics.value(
            "api_calls_total",
            &[("route", "/api/data"), ("result", "success")]
        ),
        32.0
    );
    let threads = std::fs::read_dir(format!("/proc/{}/task", app.child.id()))
        .unwrap()
        .count();
    assert!(threads >= 4, "{threads} threads");
}

#[test]
fn a_port_in_use_is_refused_even_by_a_second_multi_threaded_app() {
    let first = DemoApp::start(&[("WORKER_THREADS", "2")]);
    let mut second = Command::new(BIN)
        .env("PORT", first.addr.port().to_string())
        .env("BIND_ADDR", "127.0.0.1")
        .env("WORKER_THREADS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = common::wait_exit(&mut second, Duration::from_secs(10));
    let mut stderr = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
    assert_eq!(first.get("/health").status, 200);
}
