//! Folds samples into the per-second timeline of the report, and into windows (the traffic
//! seen while the rollout held one weight) for the checks.

use super::generator::Sample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Traffic answered during one second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSecond {
    /// Seconds since the scenario started.
    pub second: u32,
    pub requests: u32,
    /// Requests that failed: connection errors, timeouts and HTTP 5xx.
    pub errors: u32,
    /// Successful answers by the version that gave them (from the response).
    pub by_version: BTreeMap<String, u32>,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One entry per second from second 0 to the last second with a sample (empty seconds
/// included, so the timeline has no holes).
pub fn per_second(samples: &[Sample]) -> Vec<TrafficSecond> {
    let Some(last) = samples.iter().map(|s| s.at_ms / 1000).max() else {
        return Vec::new();
    };
    let mut seconds: Vec<(TrafficSecond, Vec<f64>)> = (0..=last)
        .map(|second| {
            (
                TrafficSecond {
                    second: second as u32,
                    ..Default::default()
                },
                Vec::new(),
            )
        })
        .collect();
    for s in samples {
        let (entry, latencies) = &mut seconds[(s.at_ms / 1000) as usize];
        entry.requests += 1;
        if s.failed() {
            entry.errors += 1;
        } else if let Some(v) = &s.version {
            *entry.by_version.entry(v.clone()).or_default() += 1;
        }
        latencies.push(s.latency_ms);
    }
    seconds
        .into_iter()
        .map(|(mut entry, mut latencies)| {
            latencies.sort_by(f64::total_cmp);
            entry.p50_ms = percentile(&latencies, 0.50);
            entry.p99_ms = percentile(&latencies, 0.99);
            entry
        })
        .collect()
}

/// Nearest-rank percentile of sorted values (0 when there are none).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    let value = sorted[rank.clamp(1, sorted.len()) - 1];
    (value * 10.0).round() / 10.0
}

/// The traffic sent in a span of time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub from_ms: u64,
    pub to_ms: u64,
    pub requests: u32,
    pub errors: u32,
    /// Successful answers by version.
    pub by_version: BTreeMap<String, u32>,
    /// The first failures (at most 5): when and why, for the checks' details.
    pub first_failures: Vec<String>,
}

impl Window {
    pub fn successes(&self) -> u32 {
        self.by_version.values().sum()
    }

    /// Percentage (0–100) of successful answers given by `version`; None without answers.
    pub fn share(&self, version: &str) -> Option<f64> {
        let ok = self.successes();
        (ok > 0)
            .then(|| f64::from(*self.by_version.get(version).unwrap_or(&0)) * 100.0 / f64::from(ok))
    }

    /// Percentage (0–100) of failed requests; 0 without requests.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            f64::from(self.errors) * 100.0 / f64::from(self.requests)
        }
    }

    /// "v1 57, v2 41" — the answers by version.
    pub fn versions_text(&self) -> String {
        if self.by_version.is_empty() {
            return "no successful answers".into();
        }
        self.by_version
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The samples sent in `[from_ms, to_ms)`.
pub fn window(samples: &[Sample], from_ms: u64, to_ms: u64) -> Window {
    let mut w = Window {
        from_ms,
        to_ms,
        ..Default::default()
    };
    for s in samples
        .iter()
        .filter(|s| s.at_ms >= from_ms && s.at_ms < to_ms)
    {
        w.requests += 1;
        if s.failed() {
            w.errors += 1;
            if w.first_failures.len() < 5 {
                let why = match (s.status, &s.error) {
                    (Some(code), _) => format!("HTTP {code}"),
                    (None, Some(e)) => e.clone(),
                    (None, None) => "no answer".into(),
                };
                w.first_failures
                    .push(format!("at {:.1}s: {why}", s.at_ms as f64 / 1000.0));
            }
        } else if let Some(v) = &s.version {
            *w.by_version.entry(v.clone()).or_default() += 1;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, status: Option<u16>, version: &str, latency_ms: f64) -> Sample {
        Sample {
            at_ms,
            latency_ms,
            status,
            version: Some(version.into()),
            error: None,
        }
    }

    #[test]
    fn seconds_without_traffic_are_kept_and_failures_are_not_counted_as_answers() {
        let samples = vec![
            sample(100, Some(200), "v1", 10.0),
            sample(900, Some(200), "v2", 30.0),
            sample(2500, Some(500), "v2", 5.0),
            sample(2600, None, "v2", 5000.0),
        ];
        let t = per_second(&samples);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].requests, 2);
        assert_eq!(t[0].by_version["v1"], 1);
        assert_eq!(t[0].by_version["v2"], 1);
        assert_eq!(t[0].p50_ms, 10.0);
        assert_eq!(t[0].p99_ms, 30.0);
        assert_eq!(t[1].requests, 0);
        assert_eq!((t[2].requests, t[2].errors), (2, 2));
        assert!(t[2].by_version.is_empty());
    }

    #[test]
    fn a_window_gives_shares_of_successful_answers_and_the_error_rate() {
        let samples = vec![
            sample(0, Some(200), "v1", 1.0),
            sample(1000, Some(200), "v1", 1.0),
            sample(1100, Some(200), "v2", 1.0),
            sample(1200, Some(503), "v2", 1.0),
            sample(5000, Some(200), "v2", 1.0),
        ];
        let w = window(&samples, 1000, 5000);
        assert_eq!((w.requests, w.errors), (3, 1));
        assert_eq!(w.share("v2"), Some(50.0));
        assert!((w.error_rate() - 33.33).abs() < 0.01);
        assert_eq!(w.first_failures, vec!["at 1.2s: HTTP 503".to_string()]);
        assert_eq!(window(&samples, 6000, 7000).share("v1"), None);
    }
}
