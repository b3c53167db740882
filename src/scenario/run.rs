//! Runs scenarios one after the other (`kindling scenario NAME`, `kindling smoke`) and
//! gathers their reports into one `RunReport`.

use super::model::{RunReport, ScenarioReport};
use super::platform::{Platform, Profile};
use super::timing::Timing;
use super::{blue_green, broken_release, canary};
use crate::report::SharedReporter;
use std::time::{Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Canary,
    BlueGreen,
    BrokenRelease,
}

impl Scenario {
    /// What `kindling smoke` runs, in this order (broken-release last: it leaves staging on
    /// the version canary released).
    pub const SMOKE: [Scenario; 3] = [
        Scenario::Canary,
        Scenario::BlueGreen,
        Scenario::BrokenRelease,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Canary => canary::NAME,
            Scenario::BlueGreen => blue_green::NAME,
            Scenario::BrokenRelease => broken_release::NAME,
        }
    }

    pub fn environment(self) -> &'static str {
        match self {
            Scenario::Canary => canary::ENVIRONMENT,
            Scenario::BlueGreen => blue_green::ENVIRONMENT,
            Scenario::BrokenRelease => broken_release::ENVIRONMENT,
        }
    }

    pub async fn run<P: Platform>(
        self,
        platform: &P,
        timing: &Timing,
        profile: Profile,
        reporter: &SharedReporter,
    ) -> ScenarioReport {
        match self {
            Scenario::Canary => canary::run(platform, timing, profile, reporter).await,
            Scenario::BlueGreen => blue_green::run(platform, timing, profile, reporter).await,
            Scenario::BrokenRelease => {
                broken_release::run(platform, timing, profile, reporter).await
            }
        }
    }
}

/// Runs `scenarios` in order; every one runs even when an earlier one failed (each checks
/// its own starting point), so one report shows everything that is wrong.
pub async fn run<P: Platform>(
    platform: &P,
    scenarios: &[Scenario],
    profile: Profile,
    timing: &Timing,
    reporter: &SharedReporter,
) -> RunReport {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut reports = Vec::new();
    for scenario in scenarios {
        reports.push(scenario.run(platform, timing, profile, reporter).await);
    }
    RunReport {
        profile: profile.as_str().to_string(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        scenarios: reports,
        not_started: None,
    }
}
