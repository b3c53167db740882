//! `kindling status [--show-secrets]`: the platform at a glance (a compact table per part), or
//! one JSON object with `--output json` (keys in docs/status.md). Exit 1 when anything is
//! unhealthy or unknown, through the error `exit.rs` renders.

use super::{Context, runtime};
use crate::error::{Error, Result};
use crate::status::{self, PlatformStatus, Problem};
use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Also show the Argo CD and Grafana admin passwords (never shown otherwise)
    #[arg(long)]
    pub show_secrets: bool,
}

pub(super) fn run(ctx: &Context, args: StatusArgs) -> Result<()> {
    let settings = ctx.settings()?;
    let options = status::Options {
        show_secrets: args.show_secrets,
    };
    let status = runtime().block_on(status::collect(&settings, &ctx.env, options));
    if ctx.json() {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("serializes")
        );
    } else {
        print!("{}", render(&status));
    }
    verdict(&status.problems())
}

/// Ok when nothing is wrong; else one error naming every problem, with what to do.
fn verdict(problems: &[Problem]) -> Result<()> {
    let Some(first) = problems.first() else {
        return Ok(());
    };
    let why = if problems.len() == 1 {
        first.message.clone()
    } else {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("  - {}", p.message))
            .collect();
        format!("{} problems\n{}", problems.len(), lines.join("\n"))
    };
    let mut error = Error::failed("platform not healthy", why);
    let mut hints: Vec<&str> = Vec::new();
    for hint in problems.iter().filter_map(|p| p.hint.as_deref()) {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    for hint in hints {
        error = error.with_hint(hint);
    }
    Err(error)
}

/// Columns padded to their widest cell; the last column is not padded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:w$}  "));
            }
        }
        format!("{}\n", out.trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn or_dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}

fn yes_no(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

pub fn render(status: &PlatformStatus) -> String {
    let mut out = String::new();
    let c = &status.cluster;
    let provider = match c.provider {
        crate::config::Provider::Kind => "kind",
        crate::config::Provider::Existing => "existing",
    };
    out.push_str(&format!("Cluster {} ({provider})\n", c.name));
    out.push_str(&table(
        &["EXISTS", "RUNNING", "REACHABLE", "CONTEXT", "KUBERNETES"],
        &[vec![
            yes_no(c.exists).into(),
            yes_no(c.running).into(),
            yes_no(c.reachable).into(),
            or_dash(c.context.as_deref()),
            or_dash(c.version.as_deref()),
        ]],
    ));
    if let Some(problem) = &c.problem {
        out.push_str(&format!("  problem: {problem}\n"));
    }

    out.push_str("\nRegistry and caches\n");
    match &status.registry.problem {
        Some(why) => out.push_str(&format!("  unknown: {why}\n")),
        None => {
            let rows: Vec<Vec<String>> = status
                .registry
                .containers
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.role.clone(),
                        r.state.clone(),
                        r.port.map_or("-".into(), |p| p.to_string()),
                        match r.answers {
                            Some(true) => "yes".into(),
                            Some(false) => "no".into(),
                            None => "?".into(),
                        },
                        or_dash(r.upstream.as_deref()),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["NAME", "ROLE", "STATE", "PORT", "ANSWERS", "UPSTREAM"],
                &rows,
            ));
        }
    }

    out.push_str("\nComponents (Argo CD Applications)\n");
    // Without a cluster every row would repeat the same reason: say it once.
    let not_checked = (!c.healthy()).then(|| c.unreachable_reason());
    if let Some(why) = &not_checked {
        out.push_str(&format!("  {why}\n"));
    }
    let rows: Vec<Vec<String>> = status
        .components
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.sync.clone(),
                a.health.clone(),
                or_dash(a.problem.as_deref().or(a.message.as_deref())),
            ]
        })
        .collect();
    if not_checked.is_none() {
        out.push_str(&table(&["NAME", "SYNC", "HEALTH", "MESSAGE"], &rows));
    }

    out.push_str("\nEnvironments\n");
    if let Some(why) = &not_checked {
        out.push_str(&format!("  {why}\n"));
    }
    let rows: Vec<Vec<String>> = status
        .environments
        .iter()
        .map(|e| {
            let ro = &e.rollout;
            let awaiting = ro
                .awaiting_promotion
                .then(|| crate::platform::demo_checks::awaiting_promotion_note(&e.name));
            let note = ro
                .problem
                .as_deref()
                .or(awaiting.as_deref())
                .or(ro.message.as_deref())
                .or(e.application.problem.as_deref())
                .or(e.application.message.as_deref());
            vec![
                e.name.clone(),
                format!("{}/{}", e.application.sync, e.application.health),
                ro.phase.map_or("unknown".into(), |p| p.to_string()),
                or_dash(ro.step.as_deref()),
                or_dash(ro.version.as_deref()),
                or_dash(ro.image.as_deref()),
                or_dash(note),
            ]
        })
        .collect();
    if not_checked.is_none() {
        out.push_str(&table(
            &[
                "ENV", "APP", "ROLLOUT", "STEP", "VERSION", "IMAGE", "MESSAGE",
            ],
            &rows,
        ));
    }

    out.push_str("\nURLs\n");
    let rows: Vec<Vec<String>> = status
        .urls
        .iter()
        .map(|u| vec![u.name.clone(), u.url.clone()])
        .collect();
    out.push_str(&table(&["NAME", "URL"], &rows));

    if let Some(secrets) = &status.secrets {
        out.push_str("\nLogins\n");
        let rows: Vec<Vec<String>> = [("argocd", &secrets.argocd), ("grafana", &secrets.grafana)]
            .into_iter()
            .map(|(name, s)| {
                vec![
                    name.to_string(),
                    s.user.clone(),
                    s.password
                        .as_ref()
                        .map_or("-".into(), |p| p.expose().to_string()),
                    or_dash(s.problem.as_deref().or(s.source.as_deref())),
                ]
            })
            .collect();
        out.push_str(&table(&["NAME", "USER", "PASSWORD", "FROM"], &rows));
    }

    out.push('\n');
    if status.healthy() {
        out.push_str("✓ the platform is healthy\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let t = table(
            &["NAME", "STATE"],
            &[
                vec!["kind-registry".into(), "running".into()],
                vec!["x".into(), "missing".into()],
            ],
        );
        assert_eq!(
            t,
            "  NAME           STATE\n  kind-registry  running\n  x              missing\n"
        );
    }

    #[test]
    fn every_problem_is_named_and_each_hint_given_once() {
        let p = |message: &str, hint: &str| Problem {
            part: "x".into(),
            message: message.into(),
            hint: Some(hint.into()),
        };
        assert!(verdict(&[]).is_ok());
        let err = verdict(&[p("a is Degraded", "h1"), p("b is Missing", "h1")]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("a is Degraded") && text.contains("b is Missing"),
            "{text}"
        );
        assert_eq!(err.hints(), vec!["h1".to_string()]);
        assert_eq!(err.exit_status(), crate::error::ExitStatus::Failure);
    }
}
