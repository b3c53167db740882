//! What every scenario does around its own checks: start traffic, read the Rollout, check it
//! is Healthy, learn the serving version, release, and at the end build the report (with
//! diagnostics when a check failed).

use super::checks::{Checks, secs};
use super::diagnostics;
use super::model::{EventKind, ScenarioReport};
use super::platform::{Faults, Platform, Profile, Release};
use super::timing::Timing;
use super::watch::Watch;
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use crate::rollout::environment::{ROLLOUT_NAME, namespace_of};
use crate::traffic::{Sample, Traffic, window};
use std::sync::Arc;
use std::time::Instant;

pub struct Session<'a, P: Platform> {
    pub platform: &'a P,
    pub timing: &'a Timing,
    pub profile: Profile,
    pub name: &'static str,
    pub environment: String,
    pub origin: Instant,
    pub watch: Watch,
    pub checks: Checks,
    /// The version serving before the release (learned from traffic).
    pub from_version: String,
    pub to_version: String,
    /// The Rollout's stable pod template hash before the release.
    pub initial_hash: String,
    traffic: Option<Traffic>,
    step: Step,
}

impl<'a, P: Platform> Session<'a, P> {
    /// Starts traffic and reads the Rollout; the failures become checks (see `ok`).
    pub async fn start(
        platform: &'a P,
        timing: &'a Timing,
        profile: Profile,
        reporter: &SharedReporter,
        name: &'static str,
        environment: &str,
    ) -> Session<'a, P> {
        let origin = Instant::now();
        let step = reporter.step(
            &format!("scenario-{name}"),
            &format!("Scenario {name} ({environment})"),
        );
        let progress: Arc<dyn Fn(&str) + Send + Sync> = {
            let reporter = reporter.clone();
            let id = format!("scenario-{name}");
            Arc::new(move |message: &str| {
                reporter.report(crate::report::Event::StepProgress {
                    step: id.clone(),
                    message: message.to_string(),
                    current: None,
                    total: None,
                    rate: None,
                    elapsed_ms: u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX),
                })
            })
        };
        let namespace = namespace_of(environment).unwrap_or("default");
        let watch = Watch::new(
            platform.client(),
            namespace,
            ROLLOUT_NAME,
            origin,
            timing.poll,
            Box::new(move |m: &str| progress(m)),
        );
        let mut session = Session {
            platform,
            timing,
            profile,
            name,
            environment: environment.to_string(),
            origin,
            watch,
            checks: Checks::new(origin),
            from_version: String::new(),
            to_version: String::new(),
            initial_hash: String::new(),
            traffic: None,
            step,
        };
        session.begin().await;
        session
    }

    async fn begin(&mut self) {
        let target = match self.platform.target(&self.environment) {
            Ok(t) => t,
            Err(why) => {
                self.checks
                    .push("traffic reaches the environment", false, why);
                return;
            }
        };
        match Traffic::start(&target, self.timing.rate, self.origin) {
            Ok(t) => self.traffic = Some(t),
            Err(e) => {
                self.checks
                    .push("traffic reaches the environment", false, e.to_string());
                return;
            }
        }
        let healthy = "Rollout Healthy before the release";
        match self.watch.baseline().await {
            Ok(obs) if obs.done => {
                self.initial_hash = obs.stable_hash.clone();
                self.checks
                    .push(healthy, true, format!("stable {}", obs.stable_hash));
            }
            Ok(obs) => {
                self.checks.push(
                    healthy,
                    false,
                    format!(
                        "{}: {} (run `kindling rollout status {}`)",
                        obs.phase, obs.message, self.environment
                    ),
                );
                return;
            }
            Err(e) => {
                self.checks.push(healthy, false, e.to_string());
                return;
            }
        }
        tokio::time::sleep(self.timing.baseline).await;
        let host = target.host.clone();
        let w = window(&self.samples(), 0, self.now_ms());
        match w.by_version.iter().max_by_key(|(_, n)| **n) {
            Some((version, _)) => {
                self.from_version = version.clone();
                self.checks.push(
                    format!("traffic reaches {host}"),
                    true,
                    format!(
                        "{} requests, {}; {version} serving",
                        w.requests,
                        w.versions_text()
                    ),
                );
            }
            None => {
                let why = w
                    .first_failures
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "no answers".into());
                self.checks.push(
                    format!("traffic reaches {host}"),
                    false,
                    format!(
                        "{} requests, none answered successfully ({why})",
                        w.requests
                    ),
                );
            }
        }
    }

    /// No check failed so far.
    pub fn ok(&self) -> bool {
        self.checks.all_passed()
    }

    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.traffic
            .as_ref()
            .map(|t| t.samples())
            .unwrap_or_default()
    }

    /// When the start went well, releases the next version (`next_version` of the serving
    /// one) with `faults`: the time it was released, or None when the scenario must end.
    pub async fn release_next(&mut self, faults: Faults) -> Option<u64> {
        if !self.ok() {
            return None;
        }
        self.to_version = next_version(&self.from_version);
        let released_ms = self.now_ms();
        let to = self.to_version.clone();
        self.release(&to, faults).await.then_some(released_ms)
    }

    /// Releases `version` with `faults`; a failure becomes the check that ends the scenario.
    pub async fn release(&mut self, version: &str, faults: Faults) -> bool {
        let release = Release {
            environment: self.environment.clone(),
            version: version.to_string(),
            faults,
            profile: self.profile,
        };
        let what = if faults.is_none() {
            format!("release {version} to {}", self.environment)
        } else {
            format!(
                "release {version} ({}) to {}",
                faults.describe(),
                self.environment
            )
        };
        self.watch.event(EventKind::Released, what.clone(), None);
        let started = self.now_ms();
        match self.platform.release(&release).await {
            Ok(()) => self.checks.push(
                what,
                true,
                format!("synced and started in {}", secs(self.now_ms() - started)),
            ),
            Err(why) => self.checks.push(what, false, why),
        }
    }

    /// Stops traffic and builds the report; diagnostics when a check failed.
    pub async fn finish(mut self) -> ScenarioReport {
        let samples = match self.traffic.take() {
            Some(t) => t.stop().await,
            None => Vec::new(),
        };
        let passed = self.checks.all_passed() && !self.checks.list.is_empty();
        let diagnostics = if passed {
            None
        } else {
            Some(
                diagnostics::collect(self.watch.client(), &self.watch.namespace, &self.watch.name)
                    .await,
            )
        };
        let total = self.checks.list.len();
        let failed: Vec<&str> = self
            .checks
            .list
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        if failed.is_empty() {
            self.step
                .finish(Outcome::Done, format!("{total}/{total} checks passed"));
        } else {
            self.step.fail(format!("failed: {}", failed.join("; ")));
        }
        ScenarioReport {
            name: self.name.to_string(),
            environment: self.environment,
            from_version: self.from_version,
            to_version: self.to_version,
            duration_ms: self.origin.elapsed().as_millis() as u64,
            checks: self.checks.list,
            timeline: crate::traffic::per_second(&samples),
            events: self.watch.events,
            diagnostics,
        }
    }
}

/// The version after `v`: its last number plus one ("v1.2.3" → "v1.2.4", "v2" → "v3");
/// "-next" appended when it has no number.
pub fn next_version(v: &str) -> String {
    let end = v.rfind(|c: char| c.is_ascii_digit()).map(|i| i + 1);
    let Some(end) = end else {
        return format!("{v}-next");
    };
    let start = v[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    match v[start..end].parse::<u64>() {
        Ok(n) => format!("{}{}{}", &v[..start], n + 1, &v[end..]),
        Err(_) => format!("{v}-next"),
    }
}

#[cfg(test)]
mod tests {
    use super::next_version;

    #[test]
    fn the_next_version_bumps_the_last_number() {
        assert_eq!(next_version("v0.1.0"), "v0.1.1");
        assert_eq!(next_version("v2"), "v3");
        assert_eq!(next_version("1.9"), "1.10");
        assert_eq!(next_version("v1.2.3-rc"), "v1.2.4-rc");
        assert_eq!(next_version("latest"), "latest-next");
    }
}
