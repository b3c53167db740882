//! The Prometheus metrics the analysis templates and dashboards query, with the exact names
//! the seed design uses. prometheus-client appends `_total` to counters itself, so counters
//! are registered without it. Per-request work is kept to atomics: label sets are made of
//! `&'static str`, and each (route, method, status) handle is looked up in the family once
//! and then cached.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The Prometheus client default buckets (client_golang's `DefBuckets`), in seconds.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Route templates used as the `route` label; anything else is `other` so that scanners
/// probing random paths cannot blow up label cardinality.
///
/// The label is `route`, not `endpoint`: prometheus-operator gives every series scraped
/// through a ServiceMonitor the target label `endpoint` (the port name), and with
/// honorLabels off an app label of that name is stored as `exported_endpoint`
/// (pkg/prometheus/promcfg.go, v0.93.0; docs/manifests.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Index,
    Health,
    Ready,
    Version,
    ApiData,
    ApiSlow,
    ApiError,
    Metrics,
    Other,
}

impl Endpoint {
    const ALL: usize = 9;

    pub fn from_path(path: &str) -> Endpoint {
        match path {
            "/" => Endpoint::Index,
            "/health" => Endpoint::Health,
            "/ready" => Endpoint::Ready,
            "/version" => Endpoint::Version,
            "/api/data" => Endpoint::ApiData,
            "/api/slow" => Endpoint::ApiSlow,
            "/api/error" => Endpoint::ApiError,
            "/metrics" => Endpoint::Metrics,
            _ => Endpoint::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Index => "/",
            Endpoint::Health => "/health",
            Endpoint::Ready => "/ready",
            Endpoint::Version => "/version",
            Endpoint::ApiData => "/api/data",
            Endpoint::ApiSlow => "/api/slow",
            Endpoint::ApiError => "/api/error",
            Endpoint::Metrics => "/metrics",
            Endpoint::Other => "other",
        }
    }
}

/// Methods get a bounded label too: the standard ones by name, anything else as `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER",
];

pub fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Statuses this app answers with; their counters are cached, any other goes to the family.
const STATUSES: [u16; 5] = [200, 404, 405, 500, 503];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DurationLabels {
    pub method: &'static str,
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiCallLabels {
    pub route: &'static str,
    pub result: &'static str,
}

type HistogramFamily = Family<DurationLabels, Histogram, fn() -> Histogram>;

fn new_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

pub struct Metrics {
    pub registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    pub in_flight: Gauge,
    api_calls: Family<ApiCallLabels, Counter>,
    errors: Counter,
    /// `[route][method][status]` → counter, filled on first use.
    request_cache: Vec<OnceLock<Counter>>,
    /// `[route][method]` → histogram, filled on first use.
    duration_cache: Vec<OnceLock<Histogram>>,
    /// `[route][success, error]` → counter, filled on first use.
    api_call_cache: Vec<OnceLock<Counter>>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(new_histogram);
        let in_flight = Gauge::default();
        let api_calls = Family::<ApiCallLabels, Counter>::default();
        let errors = Counter::default();

        let mut registry = Registry::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status code",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency in seconds by method and route template",
            durations.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being served right now",
            in_flight.clone(),
        );
        registry.register(
            "api_calls",
            "API calls by route template and result (success or error)",
            api_calls.clone(),
        );
        registry.register(
            "error_rate",
            "HTTP responses with a 5xx status",
            errors.clone(),
        );

        let slots = Endpoint::ALL * METHODS.len();
        let metrics = Metrics {
            registry,
            requests,
            durations,
            in_flight,
            api_calls,
            errors,
            request_cache: (0..slots * STATUSES.len())
                .map(|_| OnceLock::new())
                .collect(),
            duration_cache: (0..slots).map(|_| OnceLock::new()).collect(),
            api_call_cache: (0..Endpoint::ALL * 2).map(|_| OnceLock::new()).collect(),
        };
        metrics.create_zero_series();
        metrics
    }

    /// Creates the series that error-rate queries divide by at 0, so that "no errors yet"
    /// reads as a rate of 0 rather than as an empty result.
    fn create_zero_series(&self) {
        for endpoint in [Endpoint::ApiData, Endpoint::ApiError] {
            for status in [200, 500] {
                self.request_counter(endpoint, 0, status);
            }
            for success in [true, false] {
                self.api_call_counter(endpoint, success);
            }
        }
    }

    fn request_counter(&self, endpoint: Endpoint, method: usize, status: u16) -> Option<&Counter> {
        let slot = endpoint as usize * METHODS.len() + method;
        let s = STATUSES.iter().position(|s| *s == status)?;
        Some(
            self.request_cache[slot * STATUSES.len() + s].get_or_init(|| {
                self.requests.get_or_create_owned(&RequestLabels {
                    method: METHODS[method],
                    route: endpoint.label(),
                    status,
                })
            }),
        )
    }

    /// Records one finished request; `m` is the `method_index` of its method.
    pub fn observe(&self, route: Endpoint, m: usize, status: u16, elapsed: Duration) {
        let slot = route as usize * METHODS.len() + m;
        let (method, label) = (METHODS[m], route.label());

        self.duration_cache[slot]
            .get_or_init(|| {
                self.durations.get_or_create_owned(&DurationLabels {
                    method,
                    route: label,
                })
            })
            .observe(elapsed.as_secs_f64());

        match self.request_counter(route, m, status) {
            Some(counter) => counter.inc(),
            None => self
                .requests
                .get_or_create(&RequestLabels {
                    method,
                    route: label,
                    status,
                })
                .inc(),
        };
        if status >= 500 {
            self.errors.inc();
        }
    }

    /// Counts an API call outcome; `endpoint` is a route template and `success` its result.
    pub fn api_call(&self, endpoint: Endpoint, success: bool) {
        self.api_call_counter(endpoint, success).inc();
    }

    fn api_call_counter(&self, endpoint: Endpoint, success: bool) -> &Counter {
        let slot = endpoint as usize * 2 + usize::from(!success);
        self.api_call_cache[slot].get_or_init(|| {
            self.api_calls.get_or_create_owned(&ApiCallLabels {
                route: endpoint.label(),
                result: if success { "success" } else { "error" },
            })
        })
    }

    /// The Prometheus text exposition (format 0.0.4), which every Prometheus version scrapes.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_exposed_with_a_single_total_suffix() {
        let m = Metrics::new();
        m.observe(
            Endpoint::ApiData,
            method_index(&Method::GET),
            200,
            Duration::from_millis(3),
        );
        m.observe(
            Endpoint::Other,
            method_index(&Method::from_bytes(b"BREW").unwrap()),
            418,
            Duration::ZERO,
        );
        m.api_call(Endpoint::ApiData, false);
        let text = m.encode();
        assert!(
            text.contains("# TYPE http_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/api/data",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{method="OTHER",route="other",status="418"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"api_calls_total{route="/api/data",result="error"} 1"#));
        assert!(text.contains("# TYPE error_rate_total counter"));
        assert!(text.contains("error_rate_total 0"), "{text}");
        assert!(!text.contains("_total_total"), "{text}");
        // Error series exist from the start, so error-rate queries see 0, not "no data".
        assert!(text.contains(r#"api_calls_total{route="/api/error",result="error"} 0"#));
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/api/data",status="500"} 0"#),
            "{text}"
        );
    }
}
