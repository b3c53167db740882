//! Release behaviour as configuration: injected faults, and values the app refuses.

mod common;

use common::{BIN, DemoApp};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn full_error_rate_answers_every_data_request_with_500() {
    let app = DemoApp::start(&[("FAULT_ERROR_RATE", "1.0"), ("VERSION", "v2-broken")]);
    for _ in 0..20 {
        let r = app.get("/api/data");
        assert_eq!(r.status, 500);
        assert_eq!(r.json()["version"], "v2-broken");
    }
    // Only /api/data is affected.
    assert_eq!(app.get("/health").status, 200);
    assert_eq!(app.get("/ready").status, 200);
    let m = app.metrics();
    let data = [("route", "/api/data")];
    assert_eq!(
        m.value("http_requests_total", &[data[0], ("status", "500")]),
        20.0
    );
    assert_eq!(
        m.value("api_calls_total", &[data[0], ("result", "error")]),
        20.0
    );
    assert_eq!(
        m.value("api_calls_total", &[data[0], ("result", "success")]),
        0.0
    );
    assert_eq!(m.value("error_rate_total", &[]), 20.0);
}

#[test]
fn partial_error_rate_fails_that_share_of_requests() {
    let app = DemoApp::start(&[("FAULT_ERROR_RATE", "0.25")]);
    let errors = (0..400)
        .filter(|_| app.get("/api/data").status == 500)
        .count();
    // Binomial(400, 0.25) has mean 100 and sd 8.7; this range is about ±5.7 sd.
    assert!((50..=150).contains(&errors), "{errors} of 400");
}

#[test]
fn latency_fault_delays_data_requests_only() {
    let app = DemoApp::start(&[("FAULT_LATENCY_MS", "400")]);
    let start = Instant::now();
    assert_eq!(app.get("/api/data").status, 200);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");

    let start = Instant::now();
    assert_eq!(app.get("/health").status, 200);
    assert!(start.elapsed() < Duration::from_millis(300));

    // The delay shows in the histogram: above 0.25 s, within 0.5 s.
    let m = app.metrics();
    let bucket = |le| {
        m.value(
            "http_request_duration_seconds_bucket",
            &[("route", "/api/data"), ("le", le)],
        )
    };
    assert_eq!(bucket("0.25"), 0.0);
    assert_eq!(bucket("1"), 1.0);
}

#[test]
fn invalid_settings_are_refused_with_a_clear_message() {
    for (var, value, expected) in [
        ("FAULT_ERROR_RATE", "1.5", "0.0 to 1.0"),
        ("FAULT_ERROR_RATE", "-0.2", "0.0 to 1.0"),
        ("FAULT_ERROR_RATE", "often", "0.0 to 1.0"),
        ("FAULT_LATENCY_MS", "-1", "0 to 60000"),
        ("FAULT_LATENCY_MS", "2s", "0 to 60000"),
        ("FAULT_LATENCY_MS", "60001", "0 to 60000"),
        ("PORT", "80800", "0 to 65535"),
        ("BIND_ADDR", "everywhere", "IP address"),
        ("WORKER_THREADS", "0", "1 to 64"),
    ] {
        let mut child = Command::new(BIN)
            .env("PORT", "0")
            .env("BIND_ADDR", "127.0.0.1")
            .env(var, value)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = common::wait_exit(&mut child, Duration::from_secs(10));
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(var) && stderr.contains(value), "{stderr}");
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}
