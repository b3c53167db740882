//! A simulated Argo Rollouts controller (v1.9.1 behaviour, short timings): on each release
//! it moves the Rollout, its ReplicaSets and AnalysisRuns through the status fields the real
//! controller writes — canary steps (currentStepIndex, CanaryPauseStep pause conditions,
//! replica counts standing for weights, step AnalysisRuns, abort with RolloutAborted on a
//! failed analysis) and blue-green (preview, pre-promotion analysis, BlueGreenPause until
//! promoted, active switch, post-promotion analysis, old ReplicaSet scaled down after
//! scaleDownDelaySeconds) — and points the router's weights where the Services would send
//! traffic. `Misbehaviour` makes it fail the ways the scenarios must catch.

use super::{Inner, ROLLOUT};
use fake_apiserver::Fake;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const API: &str = "argoproj.io/v1alpha1";

/// Ways the simulated controller (or the traffic path) misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Misbehaviour {
    /// The canary ReplicaSet never reaches this weight: the step never completes.
    pub weight_stuck_at: Option<i32>,
    /// AnalysisRuns stay Running forever.
    pub analysis_never_finishes: bool,
    /// A failed analysis does not abort the Rollout.
    pub no_abort: bool,
    /// The blue-green switch drops requests for a moment (502s at the router).
    pub fail_at_switch: bool,
    /// The preview host answers nothing but 502 (its Ingress or Service is broken).
    pub preview_down: bool,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

pub fn healthy_conditions() -> Value {
    json!([
        {"type": "Available", "status": "True", "reason": "AvailableReason",
         "message": "Rollout has minimum availability", "lastUpdateTime": now(), "lastTransitionTime": now()},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
         "message": "Rollout has completed rolling update", "lastUpdateTime": now(), "lastTransitionTime": now()},
        {"type": "Healthy", "status": "True", "reason": "RolloutHealthy",
         "message": "Rollout is healthy", "lastUpdateTime": now(), "lastTransitionTime": now()},
    ])
}

/// Creates or updates the ReplicaSet of `hash` with `replicas`, all available.
pub fn put_replica_set(fake: &Fake, rollout: &Value, hash: &str, revision: u32, replicas: i64) {
    let namespace = rollout["metadata"]["namespace"].as_str().unwrap();
    let name = format!("{ROLLOUT}-{hash}");
    let labels = json!({"app.kubernetes.io/name": "demo-app", "rollouts-pod-template-hash": hash});
    if fake
        .get("apps/v1", "ReplicaSet", Some(namespace), &name)
        .is_none()
    {
        fake.create(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": name, "namespace": namespace, "labels": labels,
                "annotations": {"rollout.argoproj.io/revision": revision.to_string()},
                "ownerReferences": [{"apiVersion": API, "kind": "Rollout", "name": ROLLOUT,
                    "uid": rollout["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "demo-app", "image": "demo-app"}]}}},
        }))
        .unwrap();
    } else {
        fake.patch(
            "apps/v1",
            "ReplicaSet",
            Some(namespace),
            &name,
            json!({"spec": {"replicas": replicas}}),
        )
        .unwrap();
    }
    fake.set_status(
        "apps/v1",
        "ReplicaSet",
        Some(namespace),
        &name,
        json!({"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
               "fullyLabeledReplicas": replicas, "observedGeneration": 1}),
    )
    .unwrap();
}

/// Why a rollout run stopped early.
enum Stop {
    /// status.abort set (by kindling or the controller itself).
    Aborted(String),
}

struct Run {
    inner: Arc<Inner>,
    env: &'static str,
    namespace: &'static str,
    hash: String,
    stable: String,
    revision: u32,
    port: u16,
    stable_port: u16,
    error_rate_fault: bool,
}

impl Run {
    fn fake(&self) -> &Fake {
        &self.inner.fake
    }

    fn rollout(&self) -> Value {
        self.fake()
            .get(API, "Rollout", Some(self.namespace), ROLLOUT)
            .unwrap()
    }

    fn status(&self, patch: Value) {
        let mut patch = patch;
        let generation = self.rollout()["metadata"]["generation"]
            .as_i64()
            .unwrap_or(1);
        patch["observedGeneration"] = json!(generation.to_string());
        self.fake()
            .patch_status(API, "Rollout", Some(self.namespace), ROLLOUT, patch)
            .unwrap();
    }

    fn route(&self, backends: &[(u16, i64)]) {
        let envs = self.inner.envs.lock().unwrap();
        envs[self.env].router.set(backends);
    }

    /// Where the preview Service sends its host's requests.
    fn route_preview(&self, backends: &[(u16, i64)]) {
        let envs = self.inner.envs.lock().unwrap();
        envs[self.env].preview.set(backends);
    }

    /// Requests the new version answered through the preview host so far.
    fn preview_served(&self) -> u64 {
        let envs = self.inner.envs.lock().unwrap();
        envs[self.env].preview.served(self.port)
    }

    fn replicas(&self, hash: &str, n: i64) {
        put_replica_set(self.fake(), &self.rollout(), hash, self.revision, n);
    }

    /// Waits `span` (a pause, a step of the simulated rollout), ending early when the user
    /// aborts the Rollout: each change to the fake is looked at as it happens.
    async fn wait(&self, span: Duration) -> Result<(), Stop> {
        let aborted = super::until_change(self.fake(), span, || {
            self.rollout()["status"]["abort"] == true
        })
        .await;
        if aborted {
            return Err(Stop::Aborted("Rollout aborted by the user".into()));
        }
        Ok(())
    }

    /// An AnalysisRun from start to verdict: Running, then Successful — or Failed when the
    /// new version injects errors (its error rate measured as such), and before promotion
    /// also when nobody sent the preview a request meanwhile (the user-traffic template).
    async fn analysis(&self, suffix: &str, rollout_type: &str) -> Result<(String, bool), Stop> {
        let name = format!("{ROLLOUT}-{}-{}-{suffix}", self.hash, self.revision);
        let ro = self.rollout();
        self.fake()
            .create(json!({
                "apiVersion": API, "kind": "AnalysisRun",
                "metadata": {"name": name, "namespace": self.namespace,
                    "labels": {"rollout-type": rollout_type, "rollouts-pod-template-hash": self.hash},
                    "annotations": {"rollout.argoproj.io/revision": self.revision.to_string()},
                    "ownerReferences": [{"apiVersion": API, "kind": "Rollout", "name": ROLLOUT,
                        "uid": ro["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
                "spec": {
                    "args": [{"name": "canary-hash", "value": self.hash}, {"name": "namespace", "value": self.namespace}],
                    "metrics": [{"name": "error-rate", "count": 3, "interval": "1s", "failureLimit": 2,
                        "successCondition": "result[0] < 0.01",
                        "provider": {"prometheus": {"address": "http://prometheus:9090",
                            "query": "sum(rate(http_requests_total{namespace=\"{{args.namespace}}\",rollouts_pod_template_hash=\"{{args.canary-hash}}\",status=~\"5..\"}[1m]))"}}}],
                },
            }))
            .unwrap();
        let started = now();
        let set_run = |status: Value| {
            self.fake()
                .set_status(API, "AnalysisRun", Some(self.namespace), &name, status)
                .unwrap();
        };
        set_run(json!({"phase": "Running", "startedAt": started,
            "metricResults": [{"name": "error-rate", "phase": "Running", "count": 0}]}));
        self.run_status(rollout_type, &name, "Running");
        if self.inner.misbehave.analysis_never_finishes {
            loop {
                self.wait(Duration::from_secs(3600)).await?;
            }
        }
        let served = self.preview_served();
        self.wait(self.inner.timing.analysis).await?;
        let unused = rollout_type == "PrePromotion" && self.preview_served() == served;
        let failed = self.error_rate_fault || unused;
        let (value, phase) = if failed {
            ("[0.5]", "Failed")
        } else {
            ("[0]", "Successful")
        };
        let measurement =
            json!({"phase": phase, "value": value, "startedAt": started, "finishedAt": now()});
        let mut status = json!({
            "phase": phase, "startedAt": started,
            "metricResults": [{"name": "error-rate", "phase": phase, "count": 3,
                "successful": if failed { 0 } else { 3 }, "failed": if failed { 3 } else { 0 },
                "measurements": [measurement.clone(), measurement.clone(), measurement]}],
        });
        if unused {
            status["message"] = json!(
                "Metric \"user-requests\" assessed Failed due to failed (1) > failureLimit (0)"
            );
        } else if failed {
            status["message"] =
                json!("Metric \"error-rate\" assessed Failed due to failed (3) > failureLimit (2)");
        }
        set_run(status);
        self.run_status(rollout_type, &name, phase);
        Ok((name, failed))
    }

    /// Where the Rollout records its current AnalysisRun.
    fn run_status(&self, rollout_type: &str, name: &str, phase: &str) {
        let record = json!({"name": name, "status": phase});
        self.status(match rollout_type {
            "PrePromotion" => json!({"blueGreen": {"prePromotionAnalysisRunStatus": record}}),
            "PostPromotion" => json!({"blueGreen": {"postPromotionAnalysisRunStatus": record}}),
            _ => json!({"canary": {"currentStepAnalysisRunStatus": record}}),
        });
    }

    /// The controller aborts: back to stable, Degraded with RolloutAborted.
    fn abort(&self, why: &str, replicas: i64, blue_green: bool) {
        let message = format!(
            "Rollout aborted update to revision {}: {why}",
            self.revision
        );
        self.replicas(&self.hash, 0);
        self.replicas(&self.stable, replicas);
        self.route(&[(self.stable_port, 1)]);
        let mut status = json!({
            "abort": true, "abortedAt": now(), "pauseConditions": null, "controllerPause": null,
            "phase": "Degraded", "message": format!("RolloutAborted: {message}"),
            "updatedReplicas": 0, "availableReplicas": replicas, "replicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "AvailableReason",
                 "message": "Rollout has minimum availability", "lastUpdateTime": now(), "lastTransitionTime": now()},
                {"type": "Progressing", "status": "False", "reason": "RolloutAborted",
                 "message": message, "lastUpdateTime": now(), "lastTransitionTime": now()},
            ],
        });
        if blue_green {
            status["blueGreen"] =
                json!({"activeSelector": self.stable, "previewSelector": self.hash});
        }
        self.status(status);
    }

    async fn canary(&self) -> Result<(), Stop> {
        let replicas = 5;
        let steps = self.rollout()["spec"]["strategy"]["canary"]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut canary = 0;
        self.replicas(&self.hash, 0);
        for (index, step) in steps.iter().enumerate() {
            self.status(json!({"currentStepIndex": index, "phase": "Progressing",
                "message": "more replicas need to be updated"}));
            self.wait(Duration::from_millis(100)).await?;
            if let Some(weight) = step["setWeight"].as_i64() {
                if self.inner.misbehave.weight_stuck_at == Some(weight as i32) {
                    // The canary ReplicaSet never gets its pods: the step never completes.
                    loop {
                        self.wait(Duration::from_secs(3600)).await?;
                    }
                }
                canary = (weight * replicas + 99) / 100;
                self.replicas(&self.hash, canary);
                self.replicas(&self.stable, replicas - canary);
                self.route(&[(self.stable_port, replicas - canary), (self.port, canary)]);
                self.status(json!({"replicas": replicas, "updatedReplicas": canary,
                    "readyReplicas": replicas, "availableReplicas": replicas}));
            } else if step.get("pause").is_some() {
                self.status(
                    json!({"pauseConditions": [{"reason": "CanaryPauseStep", "startTime": now()}],
                    "controllerPause": true, "phase": "Paused", "message": "CanaryPauseStep"}),
                );
                self.wait(self.inner.timing.pause).await?;
                self.status(json!({"pauseConditions": null, "controllerPause": null,
                    "phase": "Progressing", "message": "more replicas need to be updated"}));
            } else if step.get("analysis").is_some() {
                let (name, failed) = self.analysis(&index.to_string(), "Step").await?;
                if failed {
                    if self.inner.misbehave.no_abort {
                        loop {
                            self.wait(Duration::from_secs(3600)).await?;
                        }
                    }
                    let run = self
                        .fake()
                        .get(API, "AnalysisRun", Some(self.namespace), &name)
                        .unwrap();
                    return Err(Stop::Aborted(
                        run["status"]["message"].as_str().unwrap_or("").into(),
                    ));
                }
            }
        }
        let _ = canary;
        // After the last step the canary becomes stable: all replicas, all traffic.
        self.replicas(&self.hash, replicas);
        self.replicas(&self.stable, 0);
        self.route(&[(self.port, 1)]);
        self.status(
            json!({"stableRS": self.hash, "currentStepIndex": steps.len(),
            "phase": "Healthy", "message": null, "canary": {"currentStepAnalysisRunStatus": null},
            "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas, "conditions": healthy_conditions()}),
        );
        Ok(())
    }

    async fn blue_green(&self) -> Result<(), Stop> {
        let replicas = 3;
        self.replicas(&self.hash, 1);
        self.route_preview(&[(self.port, 1)]);
        if self.inner.misbehave.preview_down {
            let envs = self.inner.envs.lock().unwrap();
            envs[self.env].preview.fail_for(Duration::from_secs(3600));
        }
        self.status(
            json!({"blueGreen": {"activeSelector": self.stable, "previewSelector": self.hash},
            "phase": "Progressing", "message": "active service cutover pending",
            "updatedReplicas": 1, "availableReplicas": replicas}),
        );
        let (_, failed) = self.analysis("pre", "PrePromotion").await?;
        if failed {
            return Err(Stop::Aborted("pre-promotion analysis failed".into()));
        }
        self.status(
            json!({"pauseConditions": [{"reason": "BlueGreenPause", "startTime": now()}],
            "controllerPause": true, "phase": "Paused", "message": "BlueGreenPause"}),
        );
        // Until kindling promotes (clears the pause conditions).
        loop {
            self.wait(Duration::from_millis(50)).await?;
            let ro = self.rollout();
            if ro["status"]["pauseConditions"]
                .as_array()
                .is_none_or(|p| p.is_empty())
            {
                break;
            }
        }
        self.replicas(&self.hash, replicas);
        if self.inner.misbehave.fail_at_switch {
            let envs = self.inner.envs.lock().unwrap();
            envs[self.env].router.fail_for(Duration::from_millis(400));
        }
        self.route(&[(self.port, 1)]);
        let switched = tokio::time::Instant::now();
        self.status(json!({"blueGreen": {"activeSelector": self.hash, "previewSelector": self.hash},
            "controllerPause": null, "phase": "Progressing", "message": "waiting for analysis to complete",
            "updatedReplicas": replicas, "availableReplicas": replicas}));
        let (_, failed) = self.analysis("post", "PostPromotion").await?;
        if failed {
            return Err(Stop::Aborted("post-promotion analysis failed".into()));
        }
        self.status(
            json!({"stableRS": self.hash, "phase": "Healthy", "message": null,
            "conditions": healthy_conditions()}),
        );
        let delay = Duration::from_secs(self.inner.timing.scale_down_delay_seconds);
        tokio::time::sleep_until(switched + delay).await;
        self.replicas(&self.stable, 0);
        Ok(())
    }
}

/// Rolls the environment's Rollout out to the template with `hash` (just released).
pub async fn reconcile(inner: Arc<Inner>, env: &'static str, hash: String) {
    let (namespace, stable, port, stable_port, revision) = {
        let mut envs = inner.envs.lock().unwrap();
        let e = envs.get_mut(env).unwrap();
        e.revision += 1;
        (
            e.namespace,
            e.stable_hash.clone(),
            e.backends[&hash].port,
            e.backends[&e.stable_hash].port,
            e.revision,
        )
    };
    let error_rate_fault = inner
        .fake
        .get(API, "Rollout", Some(namespace), ROLLOUT)
        .and_then(|ro| {
            ro["spec"]["template"]["spec"]["containers"][0]["env"]
                .as_array()?
                .iter()
                .find(|e| e["name"] == "FAULT_ERROR_RATE")?["value"]
                .as_str()
                .map(|v| v != "0")
        })
        .unwrap_or(false);
    let run = Run {
        inner: inner.clone(),
        env,
        namespace,
        hash: hash.clone(),
        stable: stable.clone(),
        revision,
        port,
        stable_port,
        error_rate_fault,
    };
    let blue_green = run.rollout()["spec"]["strategy"]["blueGreen"].is_object();
    let replicas = if blue_green { 3 } else { 5 };
    if hash == stable {
        // Back to the stable template (after an abort): the controller goes straight to
        // Healthy without steps: every other ReplicaSet to zero, all traffic to stable.
        for rs in inner.fake.list("apps/v1", "ReplicaSet", Some(namespace)) {
            let other = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
                .as_str()
                .unwrap_or("");
            if other != hash {
                run.replicas(other, 0);
            }
        }
        run.replicas(&hash, replicas);
        run.route(&[(stable_port, 1)]);
        run.route_preview(&[(stable_port, 1)]);
        run.status(json!({"currentPodHash": hash, "abort": null, "abortedAt": null,
            "pauseConditions": null, "controllerPause": null, "phase": "Healthy", "message": null,
            "currentStepIndex": run.rollout()["spec"]["strategy"]["canary"]["steps"].as_array().map(|s| s.len()),
            "updatedReplicas": replicas, "availableReplicas": replicas,
            "conditions": healthy_conditions()}));
        return;
    }
    run.status(
        json!({"currentPodHash": hash, "abort": null, "abortedAt": null,
        "currentStepIndex": if blue_green { Value::Null } else { json!(0) },
        "phase": "Progressing", "message": "more replicas need to be updated",
        "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "message": format!("ReplicaSet \"{ROLLOUT}-{hash}\" is progressing."),
            "lastUpdateTime": now(), "lastTransitionTime": now()}]}),
    );
    let result = if blue_green {
        run.blue_green().await
    } else {
        run.canary().await
    };
    match result {
        Ok(()) => {
            inner.envs.lock().unwrap().get_mut(env).unwrap().stable_hash = hash;
        }
        Err(Stop::Aborted(why)) => run.abort(&why, replicas, blue_green),
    }
}
