//! The step graph: dependencies respected, independent steps overlap, failures stop
//! only their dependents, and the run ends with one error naming what failed.

use futures::FutureExt;
use kindling::pipeline::Pipeline;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use std::sync::Arc;
use std::time::Duration;

type StepFn = Box<
    dyn FnOnce(
            Arc<()>,
            Arc<kindling::report::Step>,
        ) -> futures::future::BoxFuture<'static, kindling::pipeline::StepResult>
        + Send,
>;

/// A step that succeeds at once.
fn done() -> StepFn {
    Box::new(|_, _| async { Ok((Outcome::Done, None)) }.boxed())
}

/// A step that succeeds only once every step sharing `meeting` has started: steps run one
/// after another never all meet, and their meeting times out into a failure.
fn meeting(meeting: &Arc<tokio::sync::Barrier>) -> StepFn {
    let meeting = meeting.clone();
    Box::new(move |_, _| {
        async move {
            match tokio::time::timeout(Duration::from_secs(20), meeting.wait()).await {
                Ok(_) => Ok((Outcome::Done, None)),
                Err(_) => Err(kindling::Error::failed(
                    "meet",
                    "the other steps never started",
                )),
            }
        }
        .boxed()
    })
}

/// Where a step's start and end are in the reported events.
fn span(events: &[Event], id: &str) -> (usize, usize) {
    let start = events
        .iter()
        .position(|e| matches!(e, Event::StepStarted { step, .. } if step == id))
        .unwrap();
    let end = events
        .iter()
        .position(|e| matches!(e, Event::StepFinished { step, .. } | Event::StepFailed { step, .. } if step == id))
        .unwrap();
    (start, end)
}

#[tokio::test]
async fn dependencies_are_respected_and_independent_steps_overlap() {
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    // The three independent steps each wait for all three to have started: they overlap by
    // construction, and a pipeline that ran them one at a time would fail here.
    let three = Arc::new(tokio::sync::Barrier::new(3));
    let mut p = Pipeline::<()>::new();
    p.step("preflight", "Preflight", &[], done())
        .step("ca", "Local CA", &["preflight"], meeting(&three))
        .step("registry", "Registry", &["preflight"], meeting(&three))
        .step("cluster", "Cluster", &["preflight"], meeting(&three))
        .step("wire", "Wire registry", &["registry", "cluster"], done());
    p.run(Arc::new(()), &reporter).await.unwrap();
    let events = recorder.events();
    let (_, pre_end) = span(&events, "preflight");
    for id in ["ca", "registry", "cluster"] {
        assert!(
            span(&events, id).0 > pre_end,
            "{id} started before preflight ended"
        );
    }
    let wire_start = span(&events, "wire").0;
    assert!(wire_start > span(&events, "registry").1 && wire_start > span(&events, "cluster").1);
}

#[tokio::test]
async fn a_failure_skips_dependents_and_lets_others_finish() {
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    let mut p = Pipeline::<()>::new();
    p.step("cluster", "Cluster", &[], |_, _| {
        async { Err(kindling::Error::failed("kind create cluster", "no network")) }.boxed()
    })
    .step("argocd", "Argo CD", &["cluster"], done())
    .step("apps", "Applications", &["argocd"], done())
    .step("ca", "Local CA", &[], done());
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
            .step("b", "B", &["a"], done())
            .step("c", "C", &["b"], done())
            .step("d", "D", &["a"], done())
            .step("e", "E", &[], done())
            .step("f", "F", &[], done())
            .step("g", "G", &[], done());
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
    p.step("b", "B", &["a"], done())
        .step("a", "A", &[], done())
        .step("c", "C", &["a"], done());
    let waves: Vec<Vec<&str>> = p
        .waves()
        .unwrap()
        .into_iter()
        .map(|w| w.into_iter().map(|(id, _)| id).collect())
        .collect();
    assert_eq!(waves, vec![vec!["a"], vec!["b", "c"]]);

    let mut cyclic = Pipeline::<()>::new();
    cyclic
        .step("x", "X", &["y"], done())
        .step("y", "Y", &["x"], done());
    assert!(cyclic.waves().unwrap_err().to_string().contains("cycle"));
    let mut unknown = Pipeline::<()>::new();
    unknown.step("x", "X", &["nope"], done());
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
    p.step("a", "A", &[], done())
        .step("b", "B", &["a"], done())
        .step("c", "C", &["b"], done())
        .step("d", "D", &[], done());
    assert!(p.depends_on("c", "b"));
    assert!(p.depends_on("c", "a"));
    assert!(!p.depends_on("a", "c"));
    assert!(!p.depends_on("c", "d"));
    assert!(!p.depends_on("unknown", "a"));
}
