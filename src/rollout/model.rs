//! The parts of an Argo Rollout (argoproj.io/v1alpha1) that status and control read.
//!
//! Lenient on purpose: unknown fields are ignored, `null` reads as the default,
//! `status.observedGeneration` is accepted as a number or a string (controllers before
//! v1.0 wrote a string, sometimes a spec hash), and a field of an unexpected shape is
//! dropped and named in `ignored` rather than losing the whole object: `conditions: {}`
//! must not hide the `status.phase` a v1.9 controller wrote beside it.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Reads `null` as the type's default (YAML and merge patches leave explicit nulls).
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A number or a string, kept as the string the controller wrote.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: Spec,
    #[serde(default, deserialize_with = "nullable")]
    pub status: Status,
    /// Whether a controller has written any status (a new Rollout has none).
    #[serde(skip)]
    pub has_status: bool,
    /// Fields left out because their shape was not the expected one, with why
    /// (e.g. "status.conditions: invalid type: map, expected a sequence").
    #[serde(skip)]
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    pub uid: String,
    #[serde(default, deserialize_with = "nullable")]
    pub generation: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Desired replicas; upstream defaults a missing value to 1.
    pub replicas: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub paused: bool,
    pub restart_at: Option<String>,
    /// Set when the pod template comes from a Deployment (then `template` is empty).
    pub workload_ref: Option<WorkloadRef>,
    #[serde(default, deserialize_with = "nullable")]
    pub template: PodTemplate,
    #[serde(default, deserialize_with = "nullable")]
    pub strategy: Strategy,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodTemplate {
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodSpec {
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Container {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub image: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRef {
    #[serde(default, deserialize_with = "nullable")]
    pub api_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    pub canary: Option<Canary>,
    pub blue_green: Option<BlueGreen>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Canary {
    #[serde(default, deserialize_with = "nullable")]
    pub steps: Vec<CanaryStep>,
    pub traffic_routing: Option<TrafficRouting>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRouting {
    /// The weight that means "all traffic" (default 100).
    pub max_traffic_weight: Option<i32>,
}

/// One canary step; only `setWeight` matters for the numbers, the rest names the step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    pub set_weight: Option<i32>,
    pub pause: Option<Pause>,
    pub analysis: Option<serde_json::Value>,
    pub experiment: Option<serde_json::Value>,
    pub set_canary_scale: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Pause {
    /// "30s", "1m" or a number of seconds.
    pub duration: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreen {
    #[serde(default, deserialize_with = "nullable")]
    pub active_service: String,
    #[serde(default, deserialize_with = "nullable")]
    pub preview_service: String,
    pub post_promotion_analysis: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Written by controllers ≥ v1.0 (Healthy, Progressing, Paused, Degraded).
    pub phase: Option<String>,
    pub message: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub observed_generation: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub workload_observed_generation: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub abort: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub controller_pause: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub pause_conditions: Vec<PauseCondition>,
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<Condition>,
    pub current_step_index: Option<i32>,
    #[serde(default, deserialize_with = "nullable")]
    pub replicas: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub updated_replicas: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub ready_replicas: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub available_replicas: i32,
    #[serde(default, rename = "stableRS", deserialize_with = "nullable")]
    pub stable_rs: String,
    #[serde(default, deserialize_with = "nullable")]
    pub current_pod_hash: String,
    pub restarted_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub promote_full: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub blue_green: BlueGreenStatus,
    #[serde(default, deserialize_with = "nullable")]
    pub canary: CanaryStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseCondition {
    #[serde(default, deserialize_with = "nullable")]
    pub reason: String,
    pub start_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub type_: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub reason: String,
    #[serde(default, deserialize_with = "nullable")]
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub active_selector: String,
    #[serde(default, deserialize_with = "nullable")]
    pub preview_selector: String,
    pub post_promotion_analysis_run_status: Option<RunStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// Where controllers before v0.8 kept the stable ReplicaSet's hash.
    #[serde(default, rename = "stableRS", deserialize_with = "nullable")]
    pub stable_rs: String,
    pub weights: Option<TrafficWeights>,
    pub current_step_analysis_run_status: Option<RunStatus>,
}

/// `status.canary.weights`: what the traffic router was last set to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TrafficWeights {
    #[serde(default, deserialize_with = "nullable")]
    pub canary: WeightDestination,
    #[serde(default, deserialize_with = "nullable")]
    pub stable: WeightDestination,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDestination {
    #[serde(default, deserialize_with = "nullable")]
    pub weight: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub pod_template_hash: String,
}

/// The status of an AnalysisRun as the Rollout records it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunStatus {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
}

impl RunStatus {
    /// Upstream's `AnalysisPhase.Completed()`.
    pub fn completed(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Successful" | "Failed" | "Error" | "Inconclusive"
        )
    }
}

impl Status {
    /// The stable ReplicaSet's hash: `status.stableRS`, or `status.canary.stableRS` where
    /// controllers before v0.8 wrote it (as Argo CD's Rollout health check reads it).
    pub fn stable_rs(&self) -> &str {
        if self.stable_rs.is_empty() {
            &self.canary.stable_rs
        } else {
            &self.stable_rs
        }
    }
}

/// More fields of an unexpected shape than this and the object is not read as a Rollout.
const MAX_IGNORED: usize = 32;

impl Rollout {
    /// Reads a Rollout from JSON. A field whose shape is not the expected one is removed
    /// and recorded in `ignored`, and the rest is read again; only a value that is not an
    /// object at all (or one with more than `MAX_IGNORED` such fields) is an error.
    pub fn from_value(value: &serde_json::Value) -> Result<Rollout, String> {
        if !value.is_object() {
            return Err("expected an object".into());
        }
        let mut value = value.clone();
        let mut ignored = Vec::new();
        loop {
            match serde_path_to_error::deserialize::<_, Rollout>(&value) {
                Ok(mut ro) => {
                    ro.has_status = value
                        .get("status")
                        .and_then(serde_json::Value::as_object)
                        .is_some_and(|s| !s.is_empty());
                    ro.ignored = ignored;
                    return Ok(ro);
                }
                Err(e) if ignored.len() < MAX_IGNORED && remove_at(&mut value, e.path()) => {
                    ignored.push(format!("{}: {}", e.path(), e.inner()));
                }
                Err(e) => return Err(format!("{}: {}", e.path(), e.inner())),
            }
        }
    }
}

/// Removes the value at `path` (a map entry or a list item). False when there is none.
fn remove_at(value: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut at = value;
    for segment in parents {
        let next = match segment {
            Segment::Map { key } => at.get_mut(key.as_str()),
            Segment::Seq { index } => at.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else { return false };
        at = next;
    }
    match (last, at) {
        (Segment::Map { key }, serde_json::Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Seq { index }, serde_json::Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}
