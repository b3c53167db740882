//! A dependency graph of steps, run concurrently where independent.
//!
//! Each step waits for the steps it depends on; when one of them fails, the step is
//! reported skipped and its own dependents are skipped in turn, while independent
//! steps run to the end. The run ends with one error listing every failure.

use crate::error::{Error, Result, StepFailure};
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use futures::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a step's body returns: how it ended, and an optional detail for its line.
pub type StepResult = Result<(Outcome, Option<String>)>;

type Body<C> = Box<dyn FnOnce(Arc<C>, Arc<Step>) -> BoxFuture<'static, StepResult> + Send>;

/// The steps (id, title) a group reports, as the run will show them.
type Plan<C> = Box<dyn Fn(&C) -> Vec<(String, String)> + Send + Sync>;

struct Node<C> {
    id: &'static str,
    title: String,
    /// Whether the pipeline reports the step's line itself (false: the body reports its own steps).
    visible: bool,
    deps: Vec<&'static str>,
    body: Body<C>,
    plan: Option<Plan<C>>,
}

/// One node of the graph as `--dry-run` shows it: its id and the steps it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNode {
    pub id: &'static str,
    pub title: String,
    /// (step id, title) in the order the node reports them: the ids of the progress events.
    pub steps: Vec<(String, String)>,
}

/// A graph of steps sharing a context `C`.
pub struct Pipeline<C> {
    nodes: Vec<Node<C>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl<C: Send + Sync + 'static> Default for Pipeline<C> {
    fn default() -> Self {
        Pipeline { nodes: Vec::new() }
    }
}

impl<C: Send + Sync + 'static> Pipeline<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step that runs once every step in `deps` has succeeded.
    pub fn step<F>(
        &mut self,
        id: &'static str,
        title: impl Into<String>,
        deps: &[&'static str],
        body: F,
    ) -> &mut Self
    where
        F: FnOnce(Arc<C>, Arc<Step>) -> BoxFuture<'static, StepResult> + Send + 'static,
    {
        self.add(id, title.into(), true, deps, Box::new(body))
    }

    /// Like `step`, for bodies that report their own steps: the pipeline shows no line of its
    /// own for it, except when it is skipped because a dependency failed.
    pub fn group<F>(
        &mut self,
        id: &'static str,
        title: impl Into<String>,
        deps: &[&'static str],
        body: F,
    ) -> &mut Self
    where
        F: FnOnce(Arc<C>, Arc<Step>) -> BoxFuture<'static, StepResult> + Send + 'static,
    {
        self.add(id, title.into(), false, deps, Box::new(body))
    }

    fn add(
        &mut self,
        id: &'static str,
        title: String,
        visible: bool,
        deps: &[&'static str],
        body: Body<C>,
    ) -> &mut Self {
        self.nodes.push(Node {
            id,
            title,
            visible,
            deps: deps.to_vec(),
            body,
            plan: None,
        });
        self
    }

    /// Whether step `id` runs only after `dep` (directly or through other steps).
    pub fn depends_on(&self, id: &str, dep: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![id];
        while let Some(current) = stack.pop() {
            let Some(node) = self.nodes.iter().find(|n| n.id == current) else {
                continue;
            };
            for d in &node.deps {
                if *d == dep {
                    return true;
                }
                if seen.insert(*d) {
                    stack.push(d);
                }
            }
        }
        false
    }

    /// Declares the steps the last added group reports (their ids and titles, as the run shows
    /// them), so a dry run and a skipped group name the same steps the real run does.
    pub fn reports<F>(&mut self, plan: F) -> &mut Self
    where
        F: Fn(&C) -> Vec<(String, String)> + Send + Sync + 'static,
    {
        if let Some(node) = self.nodes.last_mut() {
            node.plan = Some(Box::new(plan));
        }
        self
    }

    /// The steps each node reports (a step: itself; a group: what it declared).
    fn steps_of(node: &Node<C>, context: &C) -> Vec<(String, String)> {
        match &node.plan {
            Some(plan) => plan(context),
            None => vec![(node.id.to_string(), node.title.clone())],
        }
    }

    /// The waves with the steps each node will report: what `--dry-run` prints.
    pub fn plan(&self, context: &C) -> Result<Vec<Vec<PlannedNode>>> {
        let waves = self.waves()?;
        Ok(waves
            .into_iter()
            .map(|wave| {
                wave.into_iter()
                    .map(|(id, title)| {
                        let node = self.nodes.iter().find(|n| n.id == id).expect("known id");
                        PlannedNode {
                            id,
                            title,
                            steps: Self::steps_of(node, context),
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Step ids grouped in waves: each wave depends only on earlier ones (what `--dry-run` prints).
    /// Errors on unknown dependencies and cycles.
    pub fn waves(&self) -> Result<Vec<Vec<(&'static str, String)>>> {
        let ids: HashSet<&str> = self.nodes.iter().map(|n| n.id).collect();
        for n in &self.nodes {
            if let Some(missing) = n.deps.iter().find(|d| !ids.contains(*d)) {
                return Err(Error::failed(
                    "pipeline",
                    format!("step {} depends on unknown step {missing}", n.id),
                ));
            }
        }
        let mut done: HashSet<&str> = HashSet::new();
        let mut waves = Vec::new();
        while done.len() < self.nodes.len() {
            let wave: Vec<(&'static str, String)> = self
                .nodes
                .iter()
                .filter(|n| !done.contains(n.id) && n.deps.iter().all(|d| done.contains(d)))
                .map(|n| (n.id, n.title.clone()))
                .collect();
            if wave.is_empty() {
                return Err(Error::failed(
                    "pipeline",
                    "the steps depend on each other in a cycle",
                ));
            }
            done.extend(wave.iter().map(|(id, _)| *id));
            waves.push(wave);
        }
        Ok(waves)
    }

    /// Runs every step; Ok only if all succeeded.
    ///
    /// The order of the progress lines is stable: steps that become ready together start in
    /// the order they were added, and when a step fails the steps it blocks are reported
    /// skipped at once, in the order they were added. Dropping the returned future (Ctrl-C)
    /// cancels the running steps.
    pub async fn run(self, context: Arc<C>, reporter: &SharedReporter) -> Result<()> {
        self.waves()?; // validates the graph before anything runs
        let ids: Vec<&'static str> = self.nodes.iter().map(|n| n.id).collect();
        let deps: Vec<Vec<usize>> = self
            .nodes
            .iter()
            .map(|n| {
                n.deps
                    .iter()
                    .map(|d| ids.iter().position(|id| id == d).expect("validated"))
                    .collect()
            })
            .collect();
        let mut state = vec![State::Pending; ids.len()];
        let mut nodes: Vec<Option<Node<C>>> = self.nodes.into_iter().map(Some).collect();
        let mut running = tokio::task::JoinSet::new();
        let mut task_of: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut failures: Vec<(usize, StepFailure)> = Vec::new();
        loop {
            // Settle every pending step whose dependencies are settled, in the order the steps
            // were added; a skip can unblock (skip) later ones, so scan until nothing changes.
            let mut changed = true;
            while changed {
                changed = false;
                for i in 0..ids.len() {
                    if state[i] != State::Pending {
                        continue;
                    }
                    if let Some(&blocker) = deps[i]
                        .iter()
                        .find(|&&d| matches!(state[d], State::Failed | State::Skipped))
                    {
                        let node = nodes[i].take().expect("pending nodes are kept");
                        // The steps the node would have reported, so every id in the events is
                        // one the real run (and --dry-run) uses.
                        for (id, title) in Self::steps_of(&node, &context) {
                            let step = reporter.step(&id, &title);
                            step.finish(
                                Outcome::Skipped,
                                format!("not run: {} did not succeed", ids[blocker]),
                            );
                        }
                        state[i] = State::Skipped;
                        changed = true;
                    } else if deps[i].iter().all(|&d| state[d] == State::Succeeded) {
                        let node = nodes[i].take().expect("pending nodes are kept");
                        let step_reporter: SharedReporter = if node.visible {
                            reporter.clone()
                        } else {
                            Arc::new(crate::report::NullReporter)
                        };
                        let step = Arc::new(step_reporter.step(node.id, &node.title));
                        let handle = running.spawn(run_step(node.body, context.clone(), step));
                        task_of.insert(handle.id(), i);
                        state[i] = State::Running;
                        changed = true;
                    }
                }
            }
            let Some(joined) = running.join_next_with_id().await else {
                break;
            };
            let (i, result) = match joined {
                Ok((id, result)) => (task_of[&id], result),
                Err(e) => (
                    task_of[&e.id()],
                    Err(Error::context("the step panicked", e)),
                ),
            };
            match result {
                Ok(()) => state[i] = State::Succeeded,
                Err(error) => {
                    state[i] = State::Failed;
                    failures.push((
                        i,
                        StepFailure {
                            step: ids[i].into(),
                            error,
                        },
                    ));
                }
            }
        }
        // Named in the order the steps were added, whichever failed first.
        failures.sort_by_key(|(i, _)| *i);
        Error::steps(failures.into_iter().map(|(_, f)| f).collect())
    }
}

/// Runs a step's body and ends its line with the result.
async fn run_step<C>(body: Body<C>, context: Arc<C>, step: Arc<Step>) -> Result<()> {
    let result = body(context, step.clone()).await;
    let step = Arc::try_unwrap(step).ok();
    match result {
        Ok((outcome, detail)) => {
            if let Some(step) = step {
                step.finish(outcome, detail);
            }
            Ok(())
        }
        Err(e) => {
            if let Some(step) = step {
                step.fail(&e);
            }
            Err(e)
        }
    }
}
