//! Graceful shutdown: not ready at once, in-flight requests finish, exit 0.

mod common;

use common::{DemoApp, http_get};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn sigterm_fails_readiness_and_lets_the_slow_request_finish() {
    drain_with_a_slow_request_in_flight("2");
}

#[test]
fn single_threaded_runtime_drains_the_same_way() {
    drain_with_a_slow_request_in_flight("1");
}

fn drain_with_a_slow_request_in_flight(worker_threads: &str) {
    let mut app = DemoApp::start(&[("WORKER_THREADS", worker_threads)]);
    let addr = app.addr;
    let slow = std::thread::spawn(move || {
        let start = Instant::now();
        let r = http_get(addr, "/api/slow");
        (r.status, start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(400));
    app.signal("TERM");
    std::thread::sleep(Duration::from_millis(100));

    // Still accepting while draining, but no longer ready.
    let ready = app.get("/ready");
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(ready.json()["status"], "shutting down");
    assert_eq!(app.get("/health").status, 200);

    let (status, took) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let exit = app.wait_exit(Duration::from_secs(5));
    assert_eq!(exit.code(), Some(0), "{}", app.stderr());
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after exit"
    );
    assert!(
        app.stderr().contains("SIGTERM received"),
        "{}",
        app.stderr()
    );
}

#[test]
fn idle_app_exits_at_once_on_sigint_and_sigterm() {
    for signal in ["INT", "TERM"] {
        let mut app = DemoApp::start(&[]);
        assert_eq!(app.get("/health").status, 200);
        let start = Instant::now();
        app.signal(signal);
        let exit = app.wait_exit(Duration::from_secs(3));
        assert_eq!(exit.code(), Some(0), "SIG{signal}: {}", app.stderr());
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn abandoned_requests_leave_the_in_flight_count_and_do_not_delay_shutdown() {
    use std::io::Write;
    let mut app = DemoApp::start(&[]);
    {
        let mut client = TcpStream::connect(app.addr).unwrap();
        write!(client, "GET /api/slow HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(app.metrics().value("http_requests_in_flight", &[]), 2.0);
    } // The client hangs up while /api/slow is still sleeping.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(app.metrics().value("http_requests_in_flight", &[]), 1.0);

    let start = Instant::now();
    app.signal("TERM");
    assert_eq!(app.wait_exit(Duration::from_secs(5)).code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}
