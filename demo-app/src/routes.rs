//! The HTTP surface: route table, the instrumentation middleware and the handlers. Response
//! bodies that never change are rendered once at start-up; the hot path (`/api/data`) only
//! formats a timestamp.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::config::Config;
use crate::metrics::{self, Endpoint, Metrics};
use crate::track::{Track, TrackLayer};
use tower_layer::Layer;

/// How long `/api/slow` takes.
pub const SLOW_DELAY: Duration = Duration::from_secs(2);

/// Everything the handlers share; leaked once at start-up so handlers get a plain reference.
pub struct App {
    pub config: Config,
    pub metrics: Metrics,
    /// Cleared as soon as a shutdown signal arrives, so `/ready` fails before the app stops.
    pub ready: AtomicBool,
    index_html: Bytes,
    version_json: Bytes,
    /// `/api/data` body up to the timestamp, with the version already JSON-escaped.
    data_prefix: String,
    fault_json: Bytes,
}

#[derive(Serialize)]
struct VersionInfo<'a> {
    service: &'a str,
    version: &'a str,
    commit: &'a str,
    build_time: &'a str,
    rust_version: &'a str,
}

impl App {
    pub fn new(config: Config) -> App {
        let version_json = serde_json::to_vec(&VersionInfo {
            service: "demo-app",
            version: &config.version,
            commit: &config.commit,
            build_time: env!("DEMO_APP_BUILD_TIME"),
            rust_version: env!("DEMO_APP_RUSTC_VERSION"),
        })
        .expect("plain strings serialize");
        let version = serde_json::to_string(&config.version).expect("a string serializes");
        let data_prefix =
            format!(r#"{{"message":"Hello from demo-app","version":{version},"timestamp":"#);
        let fault_json = format!(r#"{{"error":"injected fault","version":{version}}}"#);
        App {
            index_html: index_html(&config.version).into(),
            version_json: version_json.into(),
            data_prefix,
            fault_json: fault_json.into(),
            config,
            metrics: Metrics::new(),
            ready: AtomicBool::new(true),
        }
    }
}

pub fn router(app: &'static App) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/version", get(version))
        .route("/api/data", get(api_data))
        .route("/api/slow", get(api_slow))
        .route("/api/error", get(api_error))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .with_state(app)
}

/// The router with request tracking wrapped around it as a whole: 404s and 405s are counted
/// too (as `other` or their route), and a request pays for one tracking wrapper rather than
/// the boxed clone that `Router::layer` adds to every route.
pub fn service(app: &'static App) -> Track<Router> {
    TrackLayer(app).layer(router(app))
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn index(State(app): State<&'static App>) -> Response {
    let mut response = app.index_html.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn health() -> Response {
    json(StatusCode::OK, r#"{"status":"healthy"}"#)
}

async fn ready(State(app): State<&'static App>) -> Response {
    if app.ready.load(Ordering::Relaxed) {
        json(StatusCode::OK, r#"{"status":"ready"}"#)
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"shutting down"}"#,
        )
    }
}

async fn version(State(app): State<&'static App>) -> Response {
    json(StatusCode::OK, app.version_json.clone())
}

async fn api_data(State(app): State<&'static App>) -> Response {
    let config = &app.config;
    if !config.fault_latency.is_zero() {
        tokio::time::sleep(config.fault_latency).await;
    }
    if config.fault_error_rate > 0.0 && fastrand::f64() < config.fault_error_rate {
        app.metrics.api_call(Endpoint::ApiData, false);
        return json(StatusCode::INTERNAL_SERVER_ERROR, app.fault_json.clone());
    }
    app.metrics.api_call(Endpoint::ApiData, true);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut body = String::with_capacity(app.data_prefix.len() + 24);
    body.push_str(&app.data_prefix);
    body.push_str(itoa::Buffer::new().format(now));
    body.push('}');
    json(StatusCode::OK, body)
}

async fn api_slow() -> Response {
    tokio::time::sleep(SLOW_DELAY).await;
    json(
        StatusCode::OK,
        r#"{"message":"slow response","delay_ms":2000}"#,
    )
}

async fn api_error(State(app): State<&'static App>) -> Response {
    if fastrand::bool() {
        app.metrics.api_call(Endpoint::ApiError, false);
        json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"simulated error"}"#,
        )
    } else {
        app.metrics.api_call(Endpoint::ApiError, true);
        json(StatusCode::OK, r#"{"message":"ok"}"#)
    }
}

async fn metrics_text(State(app): State<&'static App>) -> Response {
    let mut response = app.metrics.encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    response
}

async fn not_found() -> Response {
    json(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#)
}

fn index_html(version: &str) -> String {
    let version: String = version
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>demo-app {version}</title></head>
<body>
<h1>demo-app {version}</h1>
<p>The workload kindling delivers to dev, staging and production.</p>
<table>
<tr><th>Endpoint</th><th>What it does</th></tr>
<tr><td><a href="/health">GET /health</a></td><td>Liveness: 200 while the process runs</td></tr>
<tr><td><a href="/ready">GET /ready</a></td><td>Readiness: 200, or 503 once shutdown has begun</td></tr>
<tr><td><a href="/version">GET /version</a></td><td>Version, commit, build time and Rust version (JSON)</td></tr>
<tr><td><a href="/api/data">GET /api/data</a></td><td>Sample JSON with the version; honours FAULT_ERROR_RATE and FAULT_LATENCY_MS</td></tr>
<tr><td><a href="/api/slow">GET /api/slow</a></td><td>Answers after 2 seconds</td></tr>
<tr><td><a href="/api/error">GET /api/error</a></td><td>HTTP 500 for half of the requests</td></tr>
<tr><td><a href="/metrics">GET /metrics</a></td><td>Prometheus metrics (text format 0.0.4)</td></tr>
</table>
</body>
</html>
"#
    )
}
