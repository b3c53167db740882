//! Every endpoint of the real binary over real HTTP.

mod common;

use common::DemoApp;
use std::time::{Duration, Instant};

#[test]
fn index_documents_every_endpoint() {
    let app = DemoApp::start(&[("VERSION", "v3.1.4")]);
    let r = app.get("/");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    for path in [
        "/health",
        "/ready",
        "/version",
        "/api/data",
        "/api/slow",
        "/api/error",
        "/metrics",
    ] {
        assert!(
            r.body.contains(&format!("GET {path}<")),
            "{path} missing:\n{}",
            r.body
        );
    }
    assert!(r.body.contains("v3.1.4"));
}

#[test]
fn health_and_ready_answer_200_while_running() {
    let app = DemoApp::start(&[]);
    let health = app.get("/health");
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("healthy"))
    );
    let ready = app.get("/ready");
    assert_eq!(
        (ready.status, ready.json()["status"].as_str()),
        (200, Some("ready"))
    );
    assert_eq!(ready.header("content-type"), Some("application/json"));
}

#[test]
fn version_reports_run_time_version_and_commit_and_baked_build_facts() {
    let app = DemoApp::start(&[("VERSION", "v2.0.0-rc.1"), ("COMMIT", "0123abcd")]);
    let v = app.get("/version").json();
    assert_eq!(v["version"], "v2.0.0-rc.1");
    assert_eq!(v["commit"], "0123abcd");
    let rust = v["rust_version"].as_str().unwrap();
    assert!(rust.starts_with("rustc 1."), "{rust}");
    let built = v["build_time"].as_str().unwrap();
    // RFC 3339 UTC, e.g. 2026-11-26T04:00:55Z.
    assert_eq!(built.len(), 20, "{built}");
    assert!(
        built.ends_with('Z') && &built[4..5] == "-" && &built[10..11] == "T",
        "{built}"
    );
}

#[test]
fn version_defaults_to_the_baked_values_without_env() {
    let app = DemoApp::start(&[]);
    let v = app.get("/version").json();
    assert_eq!(v["version"], concat!("v", env!("CARGO_PKG_VERSION")));
    assert!(!v["commit"].as_str().unwrap().is_empty());
}

#[test]
fn api_data_returns_sample_json_with_the_version() {
    let app = DemoApp::start(&[("VERSION", "v7\"quoted")]);
    let r = app.get("/api/data");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["version"], "v7\"quoted");
    assert!(v["message"].as_str().unwrap().contains("demo-app"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(v["timestamp"].as_u64().unwrap().abs_diff(now) < 60);
}

#[test]
fn api_slow_takes_two_seconds() {
    let app = DemoApp::start(&[]);
    let start = Instant::now();
    let r = app.get("/api/slow");
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn api_error_fails_about_half_of_the_requests() {
    let app = DemoApp::start(&[]);
    let statuses: Vec<u16> = (0..200).map(|_| app.get("/api/error").status).collect();
    let errors = statuses.iter().filter(|s| **s == 500).count();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 500));
    // Binomial(200, 0.5): outside 60..=140 has a probability below 1e-8.
    assert!((60..=140).contains(&errors), "{errors} errors of 200");
}

#[test]
fn metrics_endpoint_serves_prometheus_text_format() {
    let app = DemoApp::start(&[]);
    let r = app.get("/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(r.body.contains("# TYPE http_requests_total counter"));
}

#[test]
fn unknown_paths_are_404_json() {
    let app = DemoApp::start(&[]);
    let r = app.get("/no/such/page");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not found");
}
