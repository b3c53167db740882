//! Run-time settings from the environment. One binary serves every release: the version and
//! any injected fault are configuration, so a "broken release" is just an image whose config
//! sets a fault. Bad values stop the app at start-up rather than being silently ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Upper bound for `FAULT_LATENCY_MS`: a minute is far beyond any probe timeout already.
pub const MAX_FAULT_LATENCY_MS: u64 = 60_000;
/// Default request threads: two where the CPUs (or the container's CPU quota) allow, one
/// otherwise. Per request the app needs microseconds; a second thread keeps latency low when
/// the host is busy, more would mostly add memory.
fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}
/// Most runtime worker threads `WORKER_THREADS` accepts.
pub const MAX_WORKER_THREADS: usize = 64;
/// Longest accepted `VERSION`/`COMMIT`; they end up in JSON and image labels.
const MAX_TEXT_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    pub version: String,
    pub commit: String,
    /// Share of `/api/data` requests answered with HTTP 500, 0.0–1.0.
    pub fault_error_rate: f64,
    /// Delay added to every `/api/data` request.
    pub fault_latency: Duration,
    /// Threads serving requests, each with its own listening socket and connections (see
    /// server.rs); 1 runs everything on the main thread.
    pub worker_threads: usize,
}

/// A variable with a value the app cannot use; the message names the variable and what it accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl Config {
    /// Reads the settings through `get` (the process environment in production, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let value = |name: &str| get(name).filter(|v| !v.is_empty());
        let err = |variable, value: &str, expected| ConfigError {
            variable,
            value: value.to_string(),
            expected,
        };

        let port = match value("PORT") {
            None => 8080,
            Some(v) => v
                .trim()
                .parse::<u16>()
                .map_err(|_| err("PORT", &v, "a port number from 0 to 65535"))?,
        };
        // 0.0.0.0 by default so the app is reachable inside a container; tests bind 127.0.0.1.
        let ip = match value("BIND_ADDR") {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(v) => v.trim().parse::<IpAddr>().map_err(|_| {
                err(
                    "BIND_ADDR",
                    &v,
                    "an IP address such as 0.0.0.0 or 127.0.0.1",
                )
            })?,
        };

        let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            match value(name) {
                None => Ok(default.to_string()),
                Some(v) if v.len() > MAX_TEXT_LEN || v.chars().any(char::is_control) => Err(err(
                    name,
                    &v,
                    "at most 128 characters without control characters",
                )),
                Some(v) => Ok(v),
            }
        };
        let version = text("VERSION", concat!("v", env!("CARGO_PKG_VERSION")))?;
        let commit = text("COMMIT", env!("DEMO_APP_BUILD_COMMIT"))?;

        let fault_error_rate = match value("FAULT_ERROR_RATE") {
            None => 0.0,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| err("FAULT_ERROR_RATE", &v, "a number from 0.0 to 1.0"))?,
        };
        let fault_latency_ms = match value("FAULT_LATENCY_MS") {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_FAULT_LATENCY_MS)
                .ok_or_else(|| {
                    err(
                        "FAULT_LATENCY_MS",
                        &v,
                        "a whole number of milliseconds from 0 to 60000",
                    )
                })?,
        };

        let worker_threads = match value("WORKER_THREADS") {
            None => default_worker_threads(),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_WORKER_THREADS).contains(n))
                .ok_or_else(|| err("WORKER_THREADS", &v, "a whole number from 1 to 64"))?,
        };

        Ok(Config {
            worker_threads,
            addr: SocketAddr::new(ip, port),
            version,
            commit,
            fault_error_rate,
            fault_latency: Duration::from_millis(fault_latency_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_listen_everywhere_on_8080_without_faults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.version, concat!("v", env!("CARGO_PKG_VERSION")));
        assert_eq!(c.fault_error_rate, 0.0);
        assert_eq!(c.fault_latency, Duration::ZERO);
        assert!((1..=2).contains(&c.worker_threads));
    }

    #[test]
    fn accepts_the_edges_of_each_range() {
        let c = parse(&[
            ("FAULT_ERROR_RATE", "1.0"),
            ("FAULT_LATENCY_MS", "60000"),
            ("PORT", "0"),
            ("BIND_ADDR", "127.0.0.1"),
            ("VERSION", "v2.0.0"),
            ("WORKER_THREADS", "64"),
        ])
        .unwrap();
        assert_eq!(c.fault_error_rate, 1.0);
        assert_eq!(c.fault_latency, Duration::from_secs(60));
        assert_eq!(c.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.version, "v2.0.0");
        assert_eq!(c.worker_threads, 64);
    }

    #[test]
    fn rejects_values_outside_the_ranges() {
        for (var, bad) in [
            ("FAULT_ERROR_RATE", "1.5"),
            ("FAULT_ERROR_RATE", "-0.1"),
            ("FAULT_ERROR_RATE", "NaN"),
            ("FAULT_ERROR_RATE", "half"),
            ("FAULT_LATENCY_MS", "-5"),
            ("FAULT_LATENCY_MS", "60001"),
            ("FAULT_LATENCY_MS", "1.5"),
            ("PORT", "65536"),
            ("PORT", "http"),
            ("BIND_ADDR", "localhost"),
            ("WORKER_THREADS", "0"),
            ("WORKER_THREADS", "65"),
            ("VERSION", "v1\nv2"),
        ] {
            let e = parse(&[(var, bad)]).unwrap_err();
            assert_eq!(e.variable, var, "{var}={bad}");
            assert!(e.to_string().contains(var), "{e}");
        }
    }
}
