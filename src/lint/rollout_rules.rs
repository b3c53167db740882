//! Checks on Argo Rollouts that no schema can express, because they span objects: what the
//! controller would otherwise reject (or silently mis-route) only after the sync.

use super::structural::Violation;
use serde_json::Value;

/// Every rule for one Rollout, looking up Services and AnalysisTemplates among `all`.
pub fn check(rollout: &Value, all: &[&Value]) -> Vec<Violation> {
    let ctx = Ctx {
        ns: namespace(rollout),
        all,
    };
    let mut out = Vec::new();
    let spec = &rollout["spec"];
    let pod_labels = spec.pointer("/template/metadata/labels");
    // With workloadRef the pod template lives in another object: nothing to compare.
    let has_template = spec.get("workloadRef").is_none();
    match spec.get("selector") {
        None | Some(Value::Null) => out.push(v(
            ".spec.selector",
            "Required value: a Rollout needs a selector",
        )),
        Some(selector) if has_template => {
            if selector.get("matchLabels").is_none() && selector.get("matchExpressions").is_none() {
                out.push(v(
                    ".spec.selector",
                    "empty selector is invalid: it would select every pod",
                ));
            } else if !selector_matches(selector, pod_labels) {
                out.push(v(
                    ".spec.selector",
                    "selector does not match the template labels (.spec.template.metadata.labels)",
                ));
            }
        }
        Some(_) => {}
    }
    let strategy = &spec["strategy"];
    if let Some(canary) = strategy.get("canary") {
        if is_zero(canary.get("maxSurge")) && is_zero(canary.get("maxUnavailable")) {
            out.push(v(
                ".spec.strategy.canary",
                "maxSurge and maxUnavailable are both zero: the rollout could never progress",
            ));
        }
        let canary_svc = canary.get("canaryService").and_then(Value::as_str);
        let stable_svc = canary.get("stableService").and_then(Value::as_str);
        if canary_svc.is_some() && canary_svc == stable_svc {
            out.push(v(
                ".spec.strategy.canary.stableService",
                "canaryService and stableService must be different Services",
            ));
        }
        for field in ["canaryService", "stableService"] {
            ctx.service(
                canary,
                field,
                ".spec.strategy.canary",
                pod_labels,
                has_template,
                &mut out,
            );
        }
        for (i, step) in canary["steps"].as_array().into_iter().flatten().enumerate() {
            if let Some(analysis) = step.get("analysis") {
                ctx.analysis(
                    analysis,
                    &format!(".spec.strategy.canary.steps[{i}].analysis"),
                    &mut out,
                );
            }
        }
        if let Some(analysis) = canary.get("analysis") {
            ctx.analysis(analysis, ".spec.strategy.canary.analysis", &mut out);
        }
    }
    if let Some(bg) = strategy.get("blueGreen") {
        let active = bg.get("activeService").and_then(Value::as_str);
        if active.is_some() && active == bg.get("previewService").and_then(Value::as_str) {
            out.push(v(
                ".spec.strategy.blueGreen.previewService",
                "activeService and previewService must be different Services",
            ));
        }
        for field in ["activeService", "previewService"] {
            ctx.service(
                bg,
                field,
                ".spec.strategy.blueGreen",
                pod_labels,
                has_template,
                &mut out,
            );
        }
        for field in ["prePromotionAnalysis", "postPromotionAnalysis"] {
            if let Some(analysis) = bg.get(field) {
                ctx.analysis(
                    analysis,
                    &format!(".spec.strategy.blueGreen.{field}"),
                    &mut out,
                );
            }
        }
    }
    out
}

struct Ctx<'a> {
    ns: Option<&'a str>,
    all: &'a [&'a Value],
}

impl Ctx<'_> {
    fn find(&self, kind: &str, name: &str, namespaced: bool) -> Option<&Value> {
        self.all.iter().copied().find(|o| {
            o["kind"].as_str() == Some(kind)
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && (!namespaced || namespace(o) == self.ns)
        })
    }

    /// The Service named in `parent[field]` exists and selects the Rollout's pods.
    fn service(
        &self,
        parent: &Value,
        field: &str,
        base: &str,
        pod_labels: Option<&Value>,
        has_template: bool,
        out: &mut Vec<Violation>,
    ) {
        let Some(name) = parent.get(field).and_then(Value::as_str) else {
            return;
        };
        let path = format!("{base}.{field}");
        match self.find("Service", name, true) {
            None => out.push(v(
                &path,
                &format!("Service {name:?} not found in the input{}", self.in_ns()),
            )),
            Some(svc) if has_template => {
                let selector = svc.pointer("/spec/selector").and_then(Value::as_object);
                let matches = selector.is_some_and(|s| {
                    !s.is_empty()
                        && s.iter()
                            .all(|(k, val)| label(pod_labels, k) == val.as_str())
                });
                if !matches {
                    out.push(v(
                        &path,
                        &format!(
                            "Service {name:?} selector does not match the pod template labels"
                        ),
                    ));
                }
            }
            Some(_) => {}
        }
    }

    /// Each referenced template exists and every argument it needs is supplied.
    fn analysis(&self, analysis: &Value, base: &str, out: &mut Vec<Violation>) {
        let supplied: Vec<&str> = analysis["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["name"].as_str())
            .collect();
        for (i, reference) in analysis["templates"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(name) = reference["templateName"].as_str() else {
                continue;
            };
            let cluster = reference["clusterScope"].as_bool().unwrap_or(false);
            let kind = if cluster {
                "ClusterAnalysisTemplate"
            } else {
                "AnalysisTemplate"
            };
            let path = format!("{base}.templates[{i}]");
            let Some(template) = self.find(kind, name, !cluster) else {
                let scope = if cluster { String::new() } else { self.in_ns() };
                out.push(v(
                    &path,
                    &format!("{kind} {name:?} not found in the input{scope}"),
                ));
                continue;
            };
            for arg in template
                .pointer("/spec/args")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let needed = arg.get("value").is_none_or(Value::is_null)
                    && arg.get("valueFrom").is_none_or(Value::is_null);
                if let Some(arg_name) = arg["name"].as_str()
                    && needed
                    && !supplied.contains(&arg_name)
                {
                    out.push(v(
                        &format!("{base}.args"),
                        &format!(
                            "{kind} {name:?} needs argument {arg_name:?}, which is not supplied"
                        ),
                    ));
                }
            }
        }
    }

    fn in_ns(&self) -> String {
        self.ns
            .map(|n| format!(" (namespace {n})"))
            .unwrap_or_default()
    }
}

fn v(path: &str, message: &str) -> Violation {
    Violation {
        path: path.into(),
        message: message.into(),
    }
}

fn namespace(o: &Value) -> Option<&str> {
    o.pointer("/metadata/namespace").and_then(Value::as_str)
}

fn label<'a>(labels: Option<&'a Value>, key: &str) -> Option<&'a str> {
    labels.and_then(|l| l.get(key)).and_then(Value::as_str)
}

/// A LabelSelector (matchLabels and matchExpressions) against a label map.
fn selector_matches(selector: &Value, labels: Option<&Value>) -> bool {
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, val)| label(labels, k) == val.as_str());
    let by_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let have = label(labels, key);
            match e["operator"].as_str() {
                Some("In") => have.is_some_and(|h| values.contains(&h)),
                Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        });
    by_labels && by_expressions
}

/// An int-or-string that is explicitly zero (unset means the non-zero default, 25%).
fn is_zero(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => matches!(s.trim_end_matches('%').trim(), "0"),
        _ => false,
    }
}
