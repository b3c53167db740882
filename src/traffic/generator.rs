//! Sends requests at a fixed rate, each on its own task so a slow answer never delays the
//! next request, and records one `Sample` per request.

use super::TrafficError;
use super::TrafficSecond;
use super::client::{self, Target};
use super::timeline;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Requests per second when none is given.
pub const DEFAULT_RATE: u32 = 20;

/// One request as it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When it was sent, in milliseconds since the origin given to `start`.
    pub at_ms: u64,
    pub latency_ms: f64,
    /// The HTTP status, or None when no answer came (connection error, timeout, TLS).
    pub status: Option<u16>,
    /// The version named in the answer (`{"version": ...}`), when there was one.
    pub version: Option<String>,
    /// Why it failed without an answer.
    pub error: Option<String>,
}

impl Sample {
    /// Failed: no answer, or an HTTP 5xx.
    pub fn failed(&self) -> bool {
        self.status.is_none_or(|s| s >= 500)
    }
}

/// A running generator. Dropping it stops sending (in-flight requests are abandoned).
pub struct Traffic {
    samples: Arc<Mutex<Vec<Sample>>>,
    origin: Instant,
    stop: tokio::sync::watch::Sender<bool>,
    driver: Option<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    /// Starts sending `rate` requests per second to `target`. Times are measured from
    /// `origin` (the scenario's start), so timelines of several parts line up.
    pub fn start(target: &Target, rate: u32, origin: Instant) -> Result<Traffic, TrafficError> {
        let client = client::build(target)?;
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let driver = tokio::spawn(drive(
            client,
            target.url(),
            rate.max(1),
            origin,
            samples.clone(),
            stopped,
        ));
        Ok(Traffic {
            samples,
            origin,
            stop,
            driver: Some(driver),
        })
    }

    /// Every sample recorded so far, in the order answers arrived.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples lock").clone()
    }

    /// The per-second timeline so far (while running).
    pub fn snapshot(&self) -> Vec<TrafficSecond> {
        timeline::per_second(&self.samples())
    }

    /// Milliseconds since the origin: "now" on the samples' clock.
    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    /// Stops sending, waits for the requests in flight (at most their timeout), and returns
    /// every sample.
    pub async fn stop(mut self) -> Vec<Sample> {
        let _ = self.stop.send(true);
        if let Some(driver) = self.driver.take() {
            let _ = driver.await;
        }
        let mut samples = self.samples();
        samples.sort_by_key(|s| s.at_ms);
        samples
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            driver.abort();
        }
    }
}

async fn drive(
    client: reqwest::Client,
    url: String,
    rate: u32,
    origin: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    // After a stall (a busy machine), keep the rate instead of bursting to catch up.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => break,
        }
        while in_flight.try_join_next().is_some() {}
        let (client, url, samples) = (client.clone(), url.clone(), samples.clone());
        in_flight.spawn(async move {
            let sample = one_request(&client, &url, origin).await;
            samples.lock().expect("samples lock").push(sample);
        });
    }
    while in_flight.join_next().await.is_some() {}
}

async fn one_request(client: &reqwest::Client, url: &str, origin: Instant) -> Sample {
    let sent = Instant::now();
    let at_ms = sent.duration_since(origin).as_millis() as u64;
    let result = async {
        let response = client.get(url).send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    }
    .await;
    let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok((status, body)) => Sample {
            at_ms,
            latency_ms,
            status: Some(status),
            version: version_of(&body),
            error: None,
        },
        Err(e) => Sample {
            at_ms,
            latency_ms,
            status: None,
            version: None,
            error: Some(crate::error::full_line(&e)),
        },
    }
}

/// The demo app names its version in every `/api/data` answer, errors included.
fn version_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value["version"].as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_answer_and_5xx_or_no_answer_is_a_failure() {
        assert_eq!(
            version_of(br#"{"message":"Hello from demo-app","version":"v2","timestamp":1}"#),
            Some("v2".into())
        );
        assert_eq!(version_of(b"<html>"), None);
        let mut s = Sample {
            at_ms: 0,
            latency_ms: 1.0,
            status: Some(200),
            version: None,
            error: None,
        };
        assert!(!s.failed());
        s.status = Some(503);
        assert!(s.failed());
        s.status = Some(404);
        assert!(!s.failed());
        s.status = None;
        assert!(s.failed());
    }
}
