//! The patch plans, compared with the bodies in upstream's promote.go / abort.go / retry.go,
//! and the fallback to the main resource when the status subresource answers 404.

use kindling::rollout::Rollout;
use kindling::rollout::api::RolloutTarget;
use kindling::rollout::control::{self, Action, Patches, promote_patches};
use serde_json::{Value, json};
use std::sync::Mutex;

fn ro(spec_paused: bool, status: Value) -> Rollout {
    Rollout::from_value(&json!({
        "kind": "Rollout", "metadata": {"name": "demo-app", "namespace": "staging", "generation": 1},
        "spec": {"paused": spec_paused, "strategy": {"canary": {"steps": [
            {"setWeight": 20}, {"pause": {}}, {"setWeight": 60}
        ]}}},
        "status": status,
    }))
    .unwrap()
}

fn p(status: Option<&str>, spec: Option<&str>, unified: Option<&str>) -> Patches {
    Patches {
        status: status.map(String::from),
        spec: spec.map(String::from),
        unified: unified.map(String::from),
    }
}

#[test]
fn promote_patches_match_upstream() {
    let paused = json!({"currentStepIndex": 1, "controllerPause": true,
                        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "t"}]});
    assert_eq!(
        promote_patches(&ro(false, paused.clone()), false),
        p(
            Some(r#"{"status":{"pauseConditions":null}}"#),
            None,
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#)
        )
    );
    assert_eq!(
        promote_patches(&ro(true, paused.clone()), false),
        p(
            Some(r#"{"status":{"pauseConditions":null}}"#),
            Some(r#"{"spec":{"paused":false}}"#),
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#)
        )
    );
    // Not paused: skip the current step (capped at the number of steps).
    assert_eq!(
        promote_patches(&ro(false, json!({"currentStepIndex": 2})), false),
        p(
            Some(r#"{"status":{"pauseConditions":null, "currentStepIndex":3}}"#),
            None,
            Some(
                r#"{"spec":{"paused":false},"status":{"pauseConditions":null, "currentStepIndex":3}}"#
            )
        )
    );
    assert_eq!(
        promote_patches(&ro(false, json!({"currentStepIndex": 3})), false)
            .status
            .as_deref(),
        Some(r#"{"status":{"pauseConditions":null, "currentStepIndex":3}}"#)
    );
    // No currentStepIndex yet counts as step 0.
    assert_eq!(
        promote_patches(&ro(false, json!({})), false)
            .status
            .as_deref(),
        Some(r#"{"status":{"pauseConditions":null, "currentStepIndex":1}}"#)
    );
    // Paused after an Inconclusive step analysis: clear the controller pause and move on.
    let mut inconclusive = paused.clone();
    inconclusive["canary"] =
        json!({"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}});
    assert_eq!(
        promote_patches(&ro(false, inconclusive), false)
            .status
            .as_deref(),
        Some(
            r#"{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}"#
        )
    );
    // --full: only when the desired ReplicaSet is not already stable.
    assert_eq!(
        promote_patches(
            &ro(true, json!({"stableRS": "a", "currentPodHash": "b"})),
            true
        ),
        p(
            Some(r#"{"status":{"promoteFull":true}}"#),
            Some(r#"{"spec":{"paused":false}}"#),
            Some(r#"{"spec":{"paused":false},"status":{"promoteFull":true}}"#)
        )
    );
    assert_eq!(
        promote_patches(
            &ro(false, json!({"stableRS": "a", "currentPodHash": "a"})),
            true
        )
        .status,
        None
    );
}

#[test]
fn blue_green_promote_only_clears_the_pause() {
    let bg = Rollout::from_value(&json!({
        "kind": "Rollout", "metadata": {"name": "demo-app"},
        "spec": {"strategy": {"blueGreen": {"activeService": "a", "previewService": "p"}}},
        "status": {"pauseConditions": [{"reason": "BlueGreenPause", "startTime": "t"}]}
    }))
    .unwrap();
    assert_eq!(
        promote_patches(&bg, false).status.as_deref(),
        Some(r#"{"status":{"pauseConditions":null}}"#)
    );
    // Not paused at all: upstream sends nothing.
    let mut idle = bg.clone();
    idle.status.pause_conditions.clear();
    assert_eq!(promote_patches(&idle, false).status, None);
    assert_eq!(promote_patches(&idle, false).spec, None);
}

/// A Rollout whose CRD has no status subresource: every status call answers 404.
struct NoStatusSubresource {
    sent: Mutex<Vec<(Option<&'static str>, String)>>,
    rollout: Value,
}

impl RolloutTarget for NoStatusSubresource {
    fn namespace(&self) -> &str {
        "staging"
    }
    fn name(&self) -> &str {
        "demo-app"
    }
    async fn get(&self) -> Result<Value, kube::Error> {
        Ok(self.rollout.clone())
    }
    async fn merge_patch(
        &self,
        sub: Option<&'static str>,
        body: &str,
    ) -> Result<Value, kube::Error> {
        self.sent.lock().unwrap().push((sub, body.to_string()));
        if sub.is_some() {
            let status = kube::core::Status {
                code: 404,
                reason: "NotFound".into(),
                ..Default::default()
            };
            return Err(kube::Error::Api(Box::new(status)));
        }
        Ok(self.rollout.clone())
    }
}

#[tokio::test]
async fn without_a_status_subresource_the_unified_patch_goes_to_the_main_resource() {
    let target = NoStatusSubresource {
        sent: Mutex::new(Vec::new()),
        rollout: json!({"kind": "Rollout", "metadata": {"name": "demo-app"},
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
            "status": {"currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "t"}]}}),
    };
    control::run(&target, Action::Promote).await.unwrap();
    control::run(&target, Action::Abort).await.unwrap();
    let sent = target.sent.lock().unwrap().clone();
    let s = |sub: Option<&'static str>, b: &str| (sub, b.to_string());
    assert_eq!(
        sent,
        [
            s(Some("status"), r#"{"status":{"pauseConditions":null}}"#),
            s(
                None,
                r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#
            ),
            s(Some("status"), r#"{"status":{"abort":true}}"#),
            s(None, r#"{"status":{"abort":true}}"#),
        ]
    );
}
