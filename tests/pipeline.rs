//! The step graph: dependencies respected, independent steps overlap, failures stop
//! only their dependents, and the run ends with one error naming what failed.

use futures::FutureExt;
use kindling::pipeline::Pipeline;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sleeper(
    ms: u64,
) -> impl FnOnce(
    Arc<()>,
    Arc<kindling::report::Step>,
) -> futures::future::BoxFuture<'static, kindling::pipeline::StepResult> {
    move |_, _| {
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok((Outcome::Done, None))
        }
        .boxed()
    }
}

fn times(events: &[(Instant, Event)], id: &str) -> (Instant, Instant) {
    let start = events
        .iter()
        .find(|(_, e)| matches!(e, Event::StepStarted { step, .. } if step == id))
        .unwrap()
        .0;
    let end = events
        .iter()
        .find(|(_, e)| matches!(e, Event::StepFinished { step, .. } | Event::StepFailed { step, .. } if step == id))
        .unwrap()
        .0;
    (start, end)
}

#[tokio::test]
async fn dependencies_are_respected_and_independent_steps_overlap() {
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    let mut p = Pipeline::<()>::new();
    p.step("preflight", "Preflight", &[], sleeper(20))
        .step("ca", "Local CA", &["preflight"], sleeper(150))
        .step("registry", "Registry", &["preflight"], sleeper(150))
        .step("cluster", "Cluster", &["preflight"], sleeper(150))
        .step(
            "wire",
            "Wire registry",
            &["registry", "cluster"],
            sleeper(20),
        );
    let started = Instant::now();
    p.run(Arc::new(()), &reporter).await.unwrap();
    let wall = started.elapsed();
    let events = recorder.timed_events();
    let (_, pre_end) = times(&events, "preflight");
    for id in ["ca", "registry", "cluster"] {
        assert!(
            times(&events, id).0 >= pre_end,
            "{id} started before preflight ended"
        );
    }
    let wire_start = times(&events, "wire").0;
    assert!(
        wire_start >= times(&events, "registry").1 && wire_start >= times(&events, "cluster").1
    );
    // The three independent steps ran at once: each started before any of them finished.
    let last_start = ["ca", "registry", "cluster"]
        .map(|id| times(&events, id).0)
        .into_iter()
        .max()
        .unwrap();
    let first_end = ["ca", "registry", "cluster"]
        .map(|id| times(&events, id).1)
        .into_iter()
        .min()
        .unwrap();
    assert!(
        last_start < first_end,
        "independent steps did not overlap (wall {wall:?})"
    );
}

#[tokio::test]
async fn a_failure_skips_dependents_and_lets_others_finish() {
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    let mut p = Pipeline::<()>::new();
    p.step("cluster", "Cluster", &[], |_, _| {
        async { Err(kindling::Error::failed("kind create cluster", "no network")) }.boxed()
    })
    .step("argocd", "Argo CD", &["cluster"], sleeper(1))
    .step("apps", "Applications", &["argocd"], sleeper(1))
    .step("ca", "Local CA", &[], sleeper(50));
    let err = p.run(Arc::new(()), &reporter).await.unwrap_err();
    // One failed step: its own error, named once (the step is in the report, not the text).
    assert_eq!(err.to_string(), "kind create cluster: no network");
    assert_eq!(err.report().step.as_deref(), Some("cluster"));
    let events = recorder.events();
    let outcome = |id: &str| {
        events.iter().find_map(|e| match e {
            Event::StepFinished { step, outcome, .. } if step == id => Some(format!("{outcome:?}")),
            Event::StepFailed { step, .. } if step == id => Some("Failed".into()),
            _ => None,
        })
    };
    assert_eq!(outcome("cluster").as_deref(), Some("Failed"));
    assert_eq!(outcome("argocd").as_deref(), Some("Skipped"));
    assert_eq!(outcome("apps").as_deref(), Some("Skipped"));
    assert_eq!(outcome("ca").as_deref(), Some("Done"));
}

#[tokio::test]
async fn several_failures_are_summarised_together() {
    let reporter: SharedReporter = RecordingReporter::new();
    let mut p = Pipeline::<()>::new();
    p.step("a", "A", &[], |_, _| {
        async { Err(kindling::Error::failed("a", "boom")) }.boxed()
    })
    .step("b", "B", &[], |_, _| {
        async { Err(kindling::Error::failed("b", "bang").with_hint("do x")) }.boxed()
    });
    let err = p.run(Arc::new(()), &reporter).await.unwrap_err();
    assert_eq!(err.to_string(), "2 steps failed: a, b");
    assert_eq!(err.hints(), ["do x"]);
    let report = err.report();
    let steps: Vec<_> = report.problems.iter().map(|p| p.step.clone()).collect();
    assert_eq!(steps, [Some("a".to_string()), Some("b".to_string())]);
    assert_eq!(report.problems[0].message, "a: boom");
}

fn failing(
    _: Arc<()>,
    _: Arc<kindling::report::Step>,
) -> futures::future::BoxFuture<'static, kindling::pipeline::StepResult> {
    async { Err(kindling::Error::failed("a", "boom").with_hint("fix a")) }.boxed()
}

/// The ids of the events of one kind, in the order they were reported.
fn order(events: &[Event], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StepStarted { step, .. } if kind == "started" => Some(step.clone()),
            Event::StepFinished {
                step,
                outcome: Outcome::Skipped,
                ..
            } if kind == "skipped" => Some(step.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_come_in_the_order_the_steps_were_added() {
    for _ in 0..20 {
        let recorder = RecordingReporter::new();
        let reporter: SharedReporter = recorder.clone();
        let mut p = Pipeline::<()>::new();
        p.step("a", "A", &[], failing)
            .step("b", "B", &["a"], sleeper(0))
            .step("c", "C", &["b"], sleeper(0))
            .step("d", "D", &["a"], sleeper(0))
            .step("e", "E", &[], sleeper(0))
            .step("f", "F", &[], sleeper(0))
            .step("g", "G", &[], sleeper(0));
        let err = p.run(Arc::new(()), &reporter).await.unwrap_err();
        let events = recorder.events();
        // Ready together: started as listed. Blocked by a's failure: skipped as listed, the
        // skip of b (which blocks c) before d.
        assert_eq!(order(&events, "started")[..4], ["a", "e", "f", "g"]);
        let skipped = order(&events, "skipped");
        assert_eq!(skipped, ["b", "c", "d"]);
        // The failed step's event carries its hint.
        let hints = events.iter().find_map(|e| match e {
            Event::StepFailed { step, hints, .. } if step == "a" => Some(hints.clone()),
            _ => None,
        });
        assert_eq!(hints, Some(vec!["fix a".to_string()]));
        assert_eq!(err.report().step.as_deref(), Some("a"));
    }
}

#[test]
fn waves_give_the_dry_run_order_and_reject_cycles() {
    let mut p = Pipeline::<()>::new();
    p.step("b", "B", &["a"], sleeper(0))
        .step("a", "A", &[], sleeper(0))
        .step("c", "C", &["a"], sleeper(0));
    let waves: Vec<Vec<&str>> = p
        .waves()
        .unwrap()
        .into_iter()
        .map(|w| w.into_iter().map(|(id, _)| id).collect())
        .collect();
    assert_eq!(waves, vec![vec!["a"], vec!["b", "c"]]);

    let mut cyclic = Pipeline::<()>::new();
    cyclic
        .step("x", "X", &["y"], sleeper(0))
        .step("y", "Y", &["x"], sleeper(0));
    assert!(cyclic.waves().unwrap_err().to_string().contains("cycle"));
    let mut unknown = Pipeline::<()>::new();
    unknown.step("x", "X", &["nope"], sleeper(0));
    assert!(
        unknown
            .waves()
            .unwrap_err()
            .to_string()
            .contains("unknown step nope")
    );
}

#[test]
fn a_step_depends_on_what_its_dependencies_depend_on() {
    let mut p: Pipeline<()> = Pipeline::new();
    p.step("a", "A", &[], sleeper(0))
        .step("b", "B", &["a"], sleeper(0))
        .step("c", "C", &["b"], sleeper(0))
        .step("d", "D", &[], sleeper(0));
    assert!(p.depends_on("c", "b"));
    assert!(p.depends_on("c", "a"));
    assert!(!p.depends_on("a", "c"));
    assert!(!p.depends_on("c", "d"));
    assert!(!p.depends_on("unknown", "a"));
}
