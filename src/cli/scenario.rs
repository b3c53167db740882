//! `kindling scenario <canary|blue-green|broken-release>` and `kindling smoke`: run delivery
//! scenarios on the platform `kindling up` made, print the checks, write the reports, and
//! fail (exit 1) unless every check passed.

use super::{Context, runtime};
use crate::error::{Error, Result};
use crate::release::ReleaseContext;
use crate::report::{PlainReporter, ReporterExt, SharedReporter};
use crate::scenario::model::{NotStarted, RunReport};
use crate::scenario::platform::Profile;
use crate::scenario::real::RealPlatform;
use crate::scenario::report;
use crate::scenario::run::{self, Scenario};
use crate::scenario::timing::Timing;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// staging: canary steps under traffic, each weight and analysis proven
    Canary,
    /// production: preview, analysis, pause, promote, switch without errors
    BlueGreen,
    /// staging: a release failing half its requests is aborted; stable keeps serving
    BrokenRelease,
}

impl From<ScenarioName> for Scenario {
    fn from(name: ScenarioName) -> Scenario {
        match name {
            ScenarioName::Canary => Scenario::Canary,
            ScenarioName::BlueGreen => Scenario::BlueGreen,
            ScenarioName::BrokenRelease => Scenario::BrokenRelease,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Pauses and analysis intervals of 10 s (minutes for smoke)
    Fast,
    /// The manifests' committed pauses (1m) and analysis intervals (20s/30s)
    Realistic,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario to run
    pub name: ScenarioName,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Timing of the rollouts: fast or realistic
    #[arg(long, value_enum, default_value_t = ProfileArg::Fast)]
    pub profile: ProfileArg,
    /// Also write a JUnit XML report (one test case per check)
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Also write a self-contained HTML report (traffic by version, errors, steps, analyses)
    #[arg(long, value_name = "PATH.html")]
    pub report: Option<PathBuf>,
    /// Requests per second sent to each environment
    #[arg(long, default_value_t = crate::traffic::DEFAULT_RATE)]
    pub rate: u32,
    /// A kubeconfig holding kindling's context (kind-<cluster.name>) [default: kindling's own]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

pub(super) fn scenario(ctx: &Context, args: ScenarioArgs) -> Result<()> {
    run_scenarios(ctx, &[args.name.into()], &args.run)
}

pub(super) fn smoke(ctx: &Context, args: RunArgs) -> Result<()> {
    run_scenarios(ctx, &Scenario::SMOKE, &args)
}

fn run_scenarios(ctx: &Context, scenarios: &[Scenario], args: &RunArgs) -> Result<()> {
    let profile = match args.profile {
        ProfileArg::Fast => Profile::Fast,
        ProfileArg::Realistic => Profile::Realistic,
    };
    // With --output json stdout carries the report alone; progress goes to stderr.
    let reporter: SharedReporter = if ctx.json() {
        Arc::new(PlainReporter::new(false, crate::style::Paint::stderr()))
    } else {
        ctx.reporter.clone()
    };
    let started = (SystemTime::now(), Instant::now());
    let report = match start_and_run(ctx, scenarios, profile, args, &reporter) {
        Ok(report) => report,
        Err(error) => {
            // The files are promised for every run (docs/scenarios.md): they say why none ran.
            let report = RunReport {
                profile: profile.as_str().to_string(),
                started_at: humantime::format_rfc3339_seconds(started.0).to_string(),
                duration_ms: started.1.elapsed().as_millis() as u64,
                scenarios: Vec::new(),
                not_started: Some(NotStarted {
                    error: error.to_string(),
                    hints: error.hints(),
                }),
            };
            if let Err(write) = write_reports(&report, args) {
                reporter.warn(write.to_string(), None);
            }
            return Err(error);
        }
    };
    if ctx.json() {
        println!("{}", report::json(&report));
    } else {
        print!("{}", report::table(&report, ctx.paint));
    }
    write_reports(&report, args)?;
    verdict(&report)
}

/// Connects to the platform and runs the scenarios; an error here means none ran.
fn start_and_run(
    ctx: &Context,
    scenarios: &[Scenario],
    profile: Profile,
    args: &RunArgs,
    reporter: &SharedReporter,
) -> Result<RunReport> {
    let settings = ctx.settings()?;
    let mut timing = Timing::for_profile(profile);
    timing.rate = args.rate.max(1);
    runtime().block_on(async {
        let release = ReleaseContext::connect(
            settings.clone(),
            &ctx.env,
            args.kubeconfig.as_deref(),
            reporter.clone(),
        )
        .await?;
        let platform = RealPlatform::new(release);
        Ok(run::run(&platform, scenarios, profile, &timing, reporter).await)
    })
}

/// Writes the requested report files (a failed run has them too). The HTML shows times of
/// day in the machine's zone.
fn write_reports(report: &RunReport, args: &RunArgs) -> Result<()> {
    let files = [
        (&args.junit, report::junit(report)),
        (
            &args.report,
            report::html(report, report::local_offset(&report.started_at)),
        ),
    ];
    for (path, content) in files {
        if let Some(path) = path {
            std::fs::write(path, content)
                .map_err(|e| Error::context(format!("cannot write {}", path.display()), e))?;
        }
    }
    Ok(())
}

/// Exit 0 only when every check of every scenario passed.
fn verdict(report: &RunReport) -> Result<()> {
    if report.passed() {
        return Ok(());
    }
    let failed: Vec<String> = report
        .scenarios
        .iter()
        .flat_map(|s| {
            s.checks
                .iter()
                .filter(|c| !c.passed)
                .map(move |c| format!("{}: {}", s.name, c.name))
        })
        .collect();
    let total = report.checks().count();
    let what = if report.scenarios.len() == 1 {
        format!("scenario {}", report.scenarios[0].name)
    } else {
        "smoke".to_string()
    };
    let why = if failed.is_empty() {
        "no check was decided".to_string()
    } else {
        format!(
            "{} of {total} checks failed: {}",
            failed.len(),
            failed.join("; ")
        )
    };
    Err(Error::failed(what, why).with_hint(
        "the report's diagnostics show the Rollout, its AnalysisRuns, pods and events; `kindling rollout status ENV` shows where it stands",
    ))
}
