//! The metrics contract the analysis templates and dashboards rely on, read from a real scrape:
//! exact names, types, labels, route templates as `route`, and the standard buckets.

mod common;

use common::DemoApp;

const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

#[test]
fn metric_names_and_types_are_exact() {
    let app = DemoApp::start(&[]);
    app.get("/api/data");
    let m = app.metrics();
    for (name, kind) in [
        ("http_requests_total", "counter"),
        ("http_request_duration_seconds", "histogram"),
        ("http_requests_in_flight", "gauge"),
        ("api_calls_total", "counter"),
        ("error_rate_total", "counter"),
    ] {
        assert_eq!(
            m.types.get(name).map(String::as_str),
            Some(kind),
            "{name}: {:?}",
            m.types
        );
    }
    assert_eq!(
        m.types.len(),
        5,
        "unexpected metric families: {:?}",
        m.types
    );
    assert!(m.samples.iter().all(|s| !s.name.contains("_total_total")));
}

#[test]
fn error_series_start_at_zero_so_error_rates_are_defined() {
    let app = DemoApp::start(&[]);
    let m = app.metrics();
    for endpoint in ["/api/data", "/api/error"] {
        for result in ["success", "error"] {
            let want = [("route", endpoint), ("result", result)];
            assert_eq!(m.find("api_calls_total", &want).len(), 1, "{want:?}");
        }
        let want = [("method", "GET"), ("route", endpoint), ("status", "500")];
        assert_eq!(m.find("http_requests_total", &want).len(), 1, "{want:?}");
    }
    assert_eq!(m.value("error_rate_total", &[]), 0.0);
}

#[test]
fn requests_are_counted_by_method_route_template_and_status() {
    let app = DemoApp::start(&[]);
    for _ in 0..3 {
        assert_eq!(app.get("/api/data").status, 200);
    }
    app.get("/health");
    app.get("/wp-admin/login.php");
    app.get("/.env");
    let m = app.metrics();

    let data = m.find(
        "http_requests_total",
        &[("route", "/api/data"), ("status", "200")],
    );
    assert_eq!(data.len(), 1, "{data:?}");
    let labels: Vec<_> = data[0]
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [("method", "GET"), ("route", "/api/data"), ("status", "200")]
    );
    assert_eq!(data[0].value, 3.0);
    // No label the scraper sets itself: prometheus-operator gives every series the target
    // labels below, and an app label of the same name would be renamed `exported_<name>`
    // (pkg/prometheus/promcfg.go, v0.93.0) — queries filtering on it would match nothing.
    for target_label in [
        "job",
        "namespace",
        "service",
        "pod",
        "container",
        "endpoint",
        "instance",
    ] {
        assert!(
            m.samples
                .iter()
                .all(|s| !s.labels.contains_key(target_label)),
            "a series carries the target label {target_label}"
        );
    }
    assert_eq!(
        m.value(
            "http_requests_total",
            &[("route", "/health"), ("status", "200")]
        ),
        1.0
    );
    // Unknown paths share one bounded label value.
    assert_eq!(
        m.value(
            "http_requests_total",
            &[("route", "other"), ("status", "404")]
        ),
        2.0
    );
    assert!(m.samples.iter().all(|s| {
        s.labels
            .get("route")
            .is_none_or(|e| e == "other" || e.starts_with('/') && !e.contains("wp-admin"))
    }));
    assert_eq!(
        m.value(
            "api_calls_total",
            &[("route", "/api/data"), ("result", "success")]
        ),
        3.0
    );
}

#[test]
fn duration_histogram_has_the_standard_buckets_per_route() {
    let app = DemoApp::start(&[]);
    for _ in 0..4 {
        app.get("/api/data");
    }
    let m = app.metrics();
    let series = [("method", "GET"), ("route", "/api/data")];
    let buckets = m.find("http_request_duration_seconds_bucket", &series);
    let les: Vec<&str> = buckets.iter().map(|b| b.labels["le"].as_str()).collect();
    assert_eq!(les, BUCKETS);
    for b in &buckets {
        assert_eq!(b.labels.len(), 3, "{b:?}");
        // Fast local requests fall in every bucket.
        assert_eq!(b.value, 4.0, "{b:?}");
    }
    assert_eq!(m.value("http_request_duration_seconds_count", &series), 4.0);
    let sum = m.value("http_request_duration_seconds_sum", &series);
    assert!(sum > 0.0 && sum < 0.02, "sum {sum}");
}

#[test]
fn in_flight_gauge_counts_only_running_requests() {
    let app = DemoApp::start(&[]);
    for _ in 0..5 {
        app.get("/api/data");
    }
    // The scrape itself is the only request in flight.
    assert_eq!(app.metrics().value("http_requests_in_flight", &[]), 1.0);

    let addr = app.addr;
    let slow = std::thread::spawn(move || common::http_get(addr, "/api/slow").status);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(app.metrics().value("http_requests_in_flight", &[]), 2.0);
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(app.metrics().value("http_requests_in_flight", &[]), 1.0);
}

#[test]
fn server_errors_feed_error_rate_and_api_call_results() {
    let app = DemoApp::start(&[]);
    let failures = (0..60)
        .filter(|_| app.get("/api/error").status == 500)
        .count() as f64;
    assert!(failures > 0.0 && failures < 60.0, "{failures}");
    let m = app.metrics();
    assert_eq!(m.value("error_rate_total", &[]), failures);
    let calls = |result| {
        m.value(
            "api_calls_total",
            &[("route", "/api/error"), ("result", result)],
        )
    };
    assert_eq!(calls("error"), failures);
    assert_eq!(calls("success"), 60.0 - failures);
    assert_eq!(
        m.value(
            "http_requests_total",
            &[("route", "/api/error"), ("status", "500")]
        ),
        failures
    );
}
