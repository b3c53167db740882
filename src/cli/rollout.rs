//! `kindling rollout status|watch|promote|abort|retry|restart`: the demo app's Argo Rollout,
//! without the kubectl plugin.

use super::{Context, runtime};
use crate::cluster::platform_client as cluster;
use crate::error::{Error, Result};
use crate::rollout::control::{self, ControlOutcome};
use crate::rollout::live::{self, Snapshot};
use crate::rollout::{RolloutError, RolloutSummary, environment, load_file};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Show a Rollout's status, step, weights, images and replicas (exit 1 if Degraded)
    ///
    /// From the cluster for an environment, or offline from a saved Rollout with --file.
    Status {
        /// A Rollout saved as YAML or JSON (`kubectl get rollout NAME -o yaml`), or - for
        /// stdin; no cluster needed
        #[arg(long, value_name = "PATH|-", conflicts_with = "env")]
        file: Option<PathBuf>,
        /// Environment whose Rollout to show: dev, staging or production
        #[arg(required_unless_present = "file")]
        env: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Follow a Rollout live: step, weights, analysis measurements, pods by revision
    Watch {
        /// Environment whose Rollout to follow: dev, staging or production
        env: String,
        /// Seconds between refreshes
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Stop when the Rollout is done (exit 0) or Degraded (exit 1)
        #[arg(long)]
        exit: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Promote a paused Rollout to its next step (--full: skip remaining steps and analysis)
    Promote {
        /// Environment whose Rollout to promote: dev, staging or production
        env: String,
        /// Skip the remaining steps, pauses and analysis: go straight to the new version
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Abort the update: traffic and replicas go back to the stable version
    Abort {
        /// Environment whose Rollout to abort: dev, staging or production
        env: String,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Retry an aborted Rollout: the update starts again from its first step
    Retry {
        /// Environment whose Rollout to retry: dev, staging or production
        env: String,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Restart the Rollout's pods: the controller replaces them (spec.restartAt, as
    /// `kubectl argo rollouts restart` sets it)
    Restart {
        /// Environment whose Rollout's pods to restart: dev, staging or production
        env: String,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// A kubeconfig holding kindling's context (kind-<cluster.name>) [default: kindling's own]
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
}

pub(super) fn run(ctx: &Context, command: RolloutCommand) -> Result<()> {
    match command {
        RolloutCommand::Status {
            file: Some(path), ..
        } => {
            let ro = load_file(&path)?;
            let summary = RolloutSummary::new(&ro, &[]);
            print_summary(ctx, &summary, None);
            degraded_is_an_error(&summary, "the controller's message above says why")
        }
        RolloutCommand::Status { env, cluster, .. } => {
            let env = env.unwrap_or_default();
            with_client(ctx, &cluster, &env, |client, ns, name| async move {
                let snapshot = live::snapshot(&client, ns, name).await?;
                print_summary(ctx, &snapshot.summary, Some(&snapshot));
                degraded_is_an_error(
                    &snapshot.summary,
                    "see the AnalysisRuns and pods above; `kindling rollout retry ENV` after a fix",
                )
            })
        }
        RolloutCommand::Watch {
            env,
            interval,
            exit,
            cluster,
        } => with_client(ctx, &cluster, &env, |client, ns, name| async move {
            watch(
                ctx,
                &client,
                ns,
                name,
                Duration::from_secs(interval.max(1)),
                exit,
            )
            .await
        }),
        RolloutCommand::Promote { env, full, cluster } => {
            with_client(ctx, &cluster, &env, |client, ns, name| async move {
                let outcome = control::promote(client, ns, name, full).await?;
                let verb = if full { "fully promoted" } else { "promoted" };
                report_control(ctx, name, ns, verb, &outcome);
                Ok(())
            })
        }
        RolloutCommand::Abort { env, cluster } => {
            with_client(ctx, &cluster, &env, |client, ns, name| async move {
                let outcome = control::abort(client, ns, name).await?;
                report_control(ctx, name, ns, "aborted", &outcome);
                Ok(())
            })
        }
        RolloutCommand::Retry { env, cluster } => {
            with_client(ctx, &cluster, &env, |client, ns, name| async move {
                let outcome = control::retry(client, ns, name).await?;
                report_control(ctx, name, ns, "retried", &outcome);
                Ok(())
            })
        }
        RolloutCommand::Restart { env, cluster } => {
            with_client(ctx, &cluster, &env, |client, ns, name| async move {
                let outcome = control::restart(client, ns, name, None).await?;
                report_control(ctx, name, ns, "restarted", &outcome);
                Ok(())
            })
        }
    }
}

/// Resolves the environment's namespace and a client, then runs `f` on a runtime.
fn with_client<'a, F, Fut>(ctx: &'a Context, args: &ClusterArgs, env: &str, f: F) -> Result<()>
where
    F: FnOnce(kube::Client, &'static str, &'static str) -> Fut,
    Fut: std::future::Future<Output = Result<()>> + 'a,
{
    let namespace = environment::namespace_of(env)?;
    let settings = ctx.settings()?;
    runtime().block_on(async {
        let client = cluster::connect(&settings, &ctx.env, args.kubeconfig.as_deref()).await?;
        f(client, namespace, environment::ROLLOUT_NAME).await
    })
}

/// `rollout status` exits 1 for a Degraded Rollout, as `kindling status` does.
fn degraded_is_an_error(summary: &RolloutSummary, hint: &str) -> Result<()> {
    if summary.status != crate::rollout::Phase::Degraded {
        return Ok(());
    }
    Err(Error::failed(
        format!("Rollout {}/{} is Degraded", summary.namespace, summary.name),
        &summary.message,
    )
    .with_hint(hint))
}

fn report_control(
    ctx: &Context,
    name: &str,
    namespace: &str,
    verb: &str,
    outcome: &ControlOutcome,
) {
    let summary = outcome
        .rollout
        .as_ref()
        .and_then(|v| crate::rollout::Rollout::from_value(v).ok())
        .map(|ro| RolloutSummary::new(&ro, &[]));
    if ctx.json() {
        let patches: Vec<_> = outcome
            .sent
            .iter()
            .map(|p| serde_json::json!({"subresource": p.subresource, "body": p.body}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "name": name, "namespace": namespace, "result": verb,
                "patches": patches, "rollout": summary,
            })
        );
    } else if outcome.sent.is_empty() {
        println!("rollout '{name}' in {namespace}: nothing to do (not paused)");
    } else {
        println!("rollout '{name}' {verb} ({namespace})");
    }
}

fn status_mark(ctx: &Context, summary: &RolloutSummary) -> String {
    use crate::rollout::Phase;
    use crate::style;
    let (mark, style) = match summary.status {
        Phase::Healthy => ("✔", style::GOOD),
        Phase::Progressing => ("◌", style::PENDING),
        Phase::Paused => ("॥", style::PAUSED),
        Phase::Degraded => ("✖", style::BAD),
    };
    ctx.paint
        .paint(style, &format!("{mark} {}", summary.status))
}

/// A weight as a 20-cell bar: `[██████░░░░░░░░░░░░░░]  30`.
fn bar(weight: i32) -> String {
    let filled = (weight.clamp(0, 100) as usize * 20).div_ceil(100);
    format!(
        "[{}{}] {weight:>3}",
        "█".repeat(filled),
        "░".repeat(20 - filled)
    )
}

fn print_summary(ctx: &Context, summary: &RolloutSummary, snapshot: Option<&Snapshot>) {
    if ctx.json() {
        println!("{}", serde_json::to_string(summary).expect("serializes"));
        return;
    }
    print!("{}", render(ctx, summary, snapshot));
}

fn render(ctx: &Context, s: &RolloutSummary, snapshot: Option<&Snapshot>) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k:<16}{v}\n"));
    line("Name:", &s.name);
    line("Namespace:", &s.namespace);
    line("Status:", &status_mark(ctx, s));
    if !s.message.is_empty() {
        line("Message:", &s.message);
    }
    let strategy = s.strategy.map_or("unknown".into(), |k| format!("{k:?}"));
    line("Strategy:", &strategy);
    if let Some(step) = &s.step {
        line("  Step:", step);
    }
    if let Some(w) = s.set_weight {
        line("  SetWeight:", &bar(w));
    }
    if let Some(w) = s.actual_weight {
        line("  ActualWeight:", &bar(w));
    }
    match s.images.as_slice() {
        [] => {}
        [one] => line("Image:", one),
        many => line("Images:", &many.join(", ")),
    }
    if let Some(r) = &s.replicas {
        line(
            "Replicas:",
            &format!(
                "desired {} current {} updated {} ready {} available {}",
                r.desired, r.current, r.updated, r.ready, r.available
            ),
        );
    }
    for field in &s.ignored {
        line("Ignored:", &format!("{field} (unexpected shape)"));
    }
    let Some(snap) = snapshot else { return out };
    for run in snap.analysis_runs.iter().take(3) {
        out.push_str(&format!(
            "\nAnalysisRun {} (rev {}): {}",
            run.name, run.revision, run.phase
        ));
        if !run.message.is_empty() {
            out.push_str(&format!(" — {}", run.message));
        }
        out.push('\n');
        for m in &run.metrics {
            let values: Vec<String> = m
                .measurements
                .iter()
                .rev()
                .take(6)
                .rev()
                .map(|(phase, value)| format!("{value} ({phase})"))
                .collect();
            out.push_str(&format!(
                "  {:<20} {:<12} {}\n",
                m.name,
                m.phase,
                values.join(", ")
            ));
        }
    }
    if !snap.replica_sets.is_empty() {
        out.push_str("\nRevision  ReplicaSet                      Roles            Available\n");
    }
    for rs in &snap.replica_sets {
        out.push_str(&format!(
            "{:<9} {:<31} {:<16} {}/{}\n",
            rs.revision,
            rs.name,
            rs.roles.join(","),
            rs.available,
            rs.replicas
        ));
        for pod in &rs.pods {
            let state = pod.waiting.clone().unwrap_or_else(|| {
                if pod.ready {
                    "ready".into()
                } else {
                    pod.phase.clone()
                }
            });
            out.push_str(&format!("            └ {} {}\n", pod.name, state));
        }
    }
    out
}

async fn watch(
    ctx: &Context,
    client: &kube::Client,
    namespace: &str,
    name: &str,
    interval: Duration,
    exit: bool,
) -> Result<()> {
    let terminal = console::Term::stdout();
    let redraw = terminal.is_term() && !ctx.json();
    loop {
        let snapshot = live::snapshot(client, namespace, name).await?;
        if ctx.json() {
            println!(
                "{}",
                serde_json::to_string(&snapshot.summary).expect("serializes")
            );
        } else {
            // On a terminal the block is redrawn in place; elsewhere blocks follow each other.
            if redraw {
                let _ = terminal.clear_screen();
            }
            let separator = if redraw { "" } else { "---\n" };
            print!(
                "{}{separator}",
                render(ctx, &snapshot.summary, Some(&snapshot))
            );
        }
        if exit {
            if crate::rollout::status::is_done(&snapshot.rollout) {
                return Ok(());
            }
            if snapshot.summary.status == crate::rollout::Phase::Degraded {
                return Err(RolloutError::Degraded {
                    namespace: namespace.into(),
                    name: name.into(),
                    message: snapshot.summary.message,
                }
                .into());
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
        }
    }
}
