//! Checks on Argo Rollouts that the CRD schema cannot express: the spec rules the controller
//! and `kubectl argo rollouts lint` apply (argo-rollouts v1.9.1
//! pkg/apis/rollouts/validation/validation.go and validation_references.go; messages as
//! upstream writes them), and cross-object rules (Services, Ingresses, AnalysisTemplates).
//!
//! A referenced object that is not in the input is a warning, not an error: it may live in
//! another file or already in the cluster (upstream's linter says nothing at all). A
//! referenced object that is in the input and does not fit is an error.

use super::structural::Violation;
use serde_json::Value;

/// The label the controller adds to Service selectors itself (never in the pod template).
const POD_TEMPLATE_HASH: &str = "rollouts-pod-template-hash";

/// What the rules found: errors make the Rollout invalid; warnings do under `--strict`.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<Violation>,
    pub warnings: Vec<Violation>,
}

impl Findings {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Upstream's `field.Invalid`: "Invalid value: <value>: <detail>".
    fn invalid(&mut self, path: &str, value: impl std::fmt::Display, detail: &str) {
        self.error(path, format!("Invalid value: {value}: {detail}"));
    }

    fn warn(&mut self, path: &str, message: String) {
        self.warnings.push(Violation {
            path: path.into(),
            message,
        });
    }
}

/// Every rule for one Rollout, looking up the objects it names among `all`.
pub fn check(rollout: &Value, all: &[&Value]) -> Findings {
    let spec = &rollout["spec"];
    let mut out = Findings::default();
    let refs = Refs {
        ns: namespace(rollout),
        all,
        // With workloadRef the pod template lives in a Deployment: labels are not known here.
        pod_labels: spec
            .get("workloadRef")
            .is_none_or(Value::is_null)
            .then(|| spec.pointer("/template/metadata/labels"))
            .flatten(),
        has_template: spec.get("workloadRef").is_none_or(Value::is_null),
    };
    check_counts(spec, &mut out);
    check_selector(spec, &mut out);
    let strategy = &spec["strategy"];
    match (strategy.get("canary"), strategy.get("blueGreen")) {
        (None, None) => out.error(
            ".spec.strategy",
            "Required value: Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
        ),
        (Some(_), Some(_)) => out.invalid(
            ".spec.strategy",
            "\"blueGreen: true canary: true\"",
            "Multiple Strategies can not be listed",
        ),
        (Some(canary), None) => {
            check_canary(canary, &mut out);
            refs.canary(canary, &mut out);
        }
        (None, Some(bg)) => {
            check_blue_green(spec, bg, &mut out);
            refs.blue_green(bg, &mut out);
        }
    }
    out
}

fn int(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_i64)
}

/// replicas, minReadySeconds, revisionHistoryLimit, progressDeadlineSeconds: not negative
/// (the CRD schema has no minimum), and the deadline longer than minReadySeconds.
fn check_counts(spec: &Value, out: &mut Findings) {
    for field in [
        "replicas",
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        if let Some(n) = int(spec.get(field))
            && n < 0
        {
            out.invalid(
                &format!(".spec.{field}"),
                n,
                "must be greater than or equal to 0",
            );
        }
    }
    let min_ready = int(spec.get("minReadySeconds")).unwrap_or(0);
    let deadline = int(spec.get("progressDeadlineSeconds")).unwrap_or(600);
    if deadline >= 0 && deadline <= min_ready {
        out.invalid(
            ".spec.progressDeadlineSeconds",
            deadline,
            "must be greater than minReadySeconds",
        );
    }
}

fn check_selector(spec: &Value, out: &mut Findings) {
    let workload_ref = spec.get("workloadRef").is_some_and(|w| !w.is_null());
    if workload_ref {
        // The template comes from the Deployment; one written here would be ignored.
        let template_set = spec
            .get("template")
            .is_some_and(|t| t.as_object().is_some_and(|o| !o.is_empty()));
        if template_set {
            out.error(
                ".spec.template",
                "Internal error: template must be empty for workload reference rollout",
            );
        }
        return;
    }
    match spec.get("selector") {
        None | Some(Value::Null) => out.error(
            ".spec.selector",
            "Required value: Rollout has missing field '.spec.selector'",
        ),
        Some(selector) => {
            let count = |k: &str| {
                selector.get(k).map_or(0, |v| {
                    v.as_object().map_or(0, |o| o.len()) + v.as_array().map_or(0, Vec::len)
                })
            };
            if count("matchLabels") + count("matchExpressions") == 0 {
                out.invalid(
                    ".spec.selector",
                    selector,
                    "empty selector is invalid for deployment",
                );
            } else if !selector_matches(selector, spec.pointer("/template/metadata/labels")) {
                out.invalid(
                    ".spec.template.metadata.labels",
                    spec.pointer("/template/metadata/labels")
                        .unwrap_or(&Value::Null),
                    "`selector` does not match template `labels`",
                );
            }
        }
    }
}

fn check_blue_green(spec: &Value, bg: &Value, out: &mut Findings) {
    let active = bg
        .get("activeService")
        .and_then(Value::as_str)
        .unwrap_or("");
    let preview = bg
        .get("previewService")
        .and_then(Value::as_str)
        .unwrap_or("");
    if active == preview {
        out.invalid(
            ".spec.strategy.blueGreen.activeService",
            format!("{active:?}"),
            "This rollout uses the same service for the active and preview services, but two different services are required.",
        );
    }
    let history = int(spec.get("revisionHistoryLimit")).unwrap_or(10);
    if let Some(limit) = int(bg.get("scaleDownDelayRevisionLimit"))
        && history < limit
    {
        out.invalid(
            ".spec.strategy.blueGreen.scaleDownDelayRevisionLimit",
            limit,
            "This rollout's revision history limit can not be smaller than the rollout's scale down limit",
        );
    }
    check_anti_affinity(bg, ".spec.strategy.blueGreen.antiAffinity", out);
}

/// Which traffic routers a canary uses (`trafficRouting.<name>` present).
struct Routing<'a>(Option<&'a Value>);

impl Routing<'_> {
    fn any(&self) -> bool {
        self.0.is_some_and(|t| !t.is_null())
    }
    fn has(&self, router: &str) -> bool {
        self.0
            .and_then(|t| t.get(router))
            .is_some_and(|r| !r.is_null())
    }
    fn plugins(&self) -> bool {
        self.0
            .and_then(|t| t.get("plugins"))
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
    }
}

fn check_canary(canary: &Value, out: &mut Findings) {
    const BASE: &str = ".spec.strategy.canary";
    let routing = Routing(canary.get("trafficRouting"));
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();

    // Unset means the default of 25% each.
    let surge = canary.get("maxSurge").map_or(25, int_or_percent);
    let unavailable = canary.get("maxUnavailable").map_or(25, int_or_percent);
    if surge == 0 && unavailable == 0 {
        let shown = canary.get("maxSurge").map_or("25%".into(), int_or_string);
        out.invalid(
            &format!("{BASE}.maxSurge"),
            shown,
            "MaxSurge and MaxUnavailable both can not be zero",
        );
    }
    let (canary_svc, stable_svc) = (
        str_of(canary, "canaryService"),
        str_of(canary, "stableService"),
    );
    if !canary_svc.is_empty() && canary_svc == stable_svc {
        out.invalid(
            &format!("{BASE}.stableService"),
            format!("{stable_svc:?}"),
            "This rollout uses the same service for the stable and canary services, but two different services are required.",
        );
    }
    if let Some(ping_pong) = canary.get("pingPong").filter(|p| !p.is_null()) {
        if routing.any() && !routing.has("alb") {
            out.invalid(
                &format!("{BASE}.trafficRouting.alb"),
                "null",
                "Ping-pong feature works with the ALB traffic routing only",
            );
        }
        let (ping, pong) = (
            str_of(ping_pong, "pingService"),
            str_of(ping_pong, "pongService"),
        );
        for (field, name) in [("pingService", &ping), ("pongService", &pong)] {
            if name.is_empty() {
                out.invalid(
                    &format!("{BASE}.pingPong.{field}"),
                    "\"\"",
                    "Ping service and Pong service must to be set to use Ping-Pong feature",
                );
            }
        }
        if ping == pong {
            out.invalid(
                &format!("{BASE}.pingPong.pingService"),
                format!("{ping:?}"),
                "This rollout uses the same service for the ping and pong services, but two different services are required.",
            );
        }
        if routing.has("alb") && str_of(&canary["trafficRouting"]["alb"], "rootService").is_empty()
        {
            out.invalid(
                &format!("{BASE}.trafficRouting.alb.rootService"),
                "\"\"",
                "Root service field is required for the configuration with ALB and ping-pong feature enabled",
            );
        }
    }
    let needs_services = (routing.has("alb") && canary.get("pingPong").is_none_or(Value::is_null))
        || (routing.has("istio")
            && canary["trafficRouting"]["istio"]
                .get("destinationRule")
                .is_none_or(Value::is_null))
        || ["smi", "apisix", "ambassador", "nginx", "appMesh", "traefik"]
            .iter()
            .any(|r| routing.has(r));
    if needs_services {
        for (field, name) in [
            ("stableService", &stable_svc),
            ("canaryService", &canary_svc),
        ] {
            if name.is_empty() {
                out.invalid(
                    &format!("{BASE}.{field}"),
                    "\"\"",
                    "Canary service and Stable service must to be set to use Traffic Routing",
                );
            }
        }
    }
    let scale_down_delay = canary
        .get("scaleDownDelaySeconds")
        .is_some_and(|v| !v.is_null());
    let dynamic_stable_scale =
        canary.get("dynamicStableScale").and_then(Value::as_bool) == Some(true);
    if !routing.any() {
        if scale_down_delay {
            out.invalid(
                &format!("{BASE}.scaleDownDelaySeconds"),
                &canary["scaleDownDelaySeconds"],
                "Canary scaleDownDelaySeconds can only be used with traffic routing",
            );
        }
        if dynamic_stable_scale {
            out.invalid(
                &format!("{BASE}.dynamicStableScale"),
                true,
                "Canary dynamicStableScale can only be used with traffic routing",
            );
        }
    } else {
        if scale_down_delay && dynamic_stable_scale {
            out.invalid(
                &format!("{BASE}.dynamicStableScale"),
                true,
                "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds",
            );
        }
        let max_weight = canary["trafficRouting"].get("maxTrafficWeight");
        if max_weight.is_some_and(|v| !v.is_null()) && !routing.has("nginx") && !routing.plugins() {
            out.invalid(
                &format!("{BASE}.trafficRouting.maxTrafficWeight"),
                max_weight.unwrap_or(&Value::Null),
                "Canary maxTrafficWeight in traffic routing only supported in Nginx and Plugins",
            );
        }
    }
    let max_weight = if routing.any() {
        int(canary["trafficRouting"].get("maxTrafficWeight")).unwrap_or(100)
    } else {
        100
    };
    for (i, step) in canary["steps"].as_array().into_iter().flatten().enumerate() {
        check_step(canary, &routing, step, i, max_weight, out);
    }
    check_anti_affinity(canary, &format!("{BASE}.antiAffinity"), out);
}

fn check_step(
    canary: &Value,
    routing: &Routing,
    step: &Value,
    i: usize,
    max_weight: i64,
    out: &mut Findings,
) {
    let path = format!(".spec.strategy.canary.steps[{i}]");
    let has = |k: &str| step.get(k).is_some_and(|v| !v.is_null());
    let kinds = [
        "experiment",
        "pause",
        "setWeight",
        "analysis",
        "setCanaryScale",
        "setHeaderRoute",
        "setMirrorRoute",
    ];
    let step_message =
        "Step must have one of the following set: experiment, setWeight, setCanaryScale or pause";
    if !kinds.iter().any(|k| has(k)) {
        out.invalid(&path, "{}", step_message);
    } else if ["setWeight", "pause", "experiment", "analysis"]
        .iter()
        .filter(|k| has(k))
        .count()
        > 1
    {
        out.invalid(&path, "(several step types)", step_message);
    }
    if let Some(weight) = int(step.get("setWeight"))
        && !(0..=max_weight).contains(&weight)
    {
        out.invalid(
            &format!("{path}.setWeight"),
            weight,
            &format!("SetWeight needs to be between 0 and {max_weight}"),
        );
    }
    if has("pause") {
        let seconds = pause_seconds(step["pause"].get("duration"));
        if seconds < 0 {
            out.invalid(
                &format!("{path}.pause.duration"),
                seconds,
                "Duration needs to be greater than 0",
            );
        }
    }
    if has("setCanaryScale") && !routing.any() {
        out.error(
            ".spec.strategy.canary.trafficRouting",
            "Required value: SetCanaryScale requires TrafficRouting to be set",
        );
    }
    if has("setHeaderRoute")
        && !(routing.has("istio")
            || routing.has("alb")
            || routing.has("apisix")
            || routing.plugins())
    {
        out.invalid(
            &format!("{path}.setHeaderRoute"),
            &step["setHeaderRoute"],
            "SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix",
        );
    }
    if has("setMirrorRoute") && !routing.has("istio") {
        out.invalid(
            &format!("{path}.setMirrorRoute"),
            &step["setMirrorRoute"],
            "SetMirrorRoute requires TrafficRouting, supports Istio only",
        );
    }
    if routing.any() {
        let managed: Option<Vec<&str>> = canary["trafficRouting"]
            .get("managedRoutes")
            .and_then(Value::as_array)
            .map(|routes| routes.iter().filter_map(|r| r["name"].as_str()).collect());
        for field in ["setHeaderRoute", "setMirrorRoute"] {
            if !has(field) {
                continue;
            }
            match &managed {
                None => out.error(
                    ".spec.strategy.canary.trafficRouting.managedRoutes",
                    "Required value: Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes'",
                ),
                Some(names) => {
                    let name = step[field]["name"].as_str().unwrap_or("");
                    if !names.contains(&name) {
                        out.invalid(
                            &format!("{path}.{field}"),
                            format!("{name:?}"),
                            "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes",
                        );
                    }
                }
            }
        }
    }
    for (t, template) in step
        .pointer("/experiment/templates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(weight) = template.get("weight").filter(|w| !w.is_null()) else {
            continue;
        };
        let weight_path = format!("{path}.experiment.templates[{t}].weight");
        if !routing.any() {
            out.invalid(
                &weight_path,
                weight,
                "Experiment template weight cannot be set unless TrafficRouting is enabled",
            );
        } else if !(routing.has("alb")
            || routing.has("smi")
            || routing.has("istio")
            || routing.plugins())
        {
            out.invalid(
                &weight_path,
                weight,
                "Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and Plugins at this time",
            );
        }
    }
}

fn check_anti_affinity(parent: &Value, path: &str, out: &mut Findings) {
    let Some(anti) = parent.get("antiAffinity").filter(|a| !a.is_null()) else {
        return;
    };
    let preferred = anti
        .get("preferredDuringSchedulingIgnoredDuringExecution")
        .filter(|v| !v.is_null());
    let required = anti
        .get("requiredDuringSchedulingIgnoredDuringExecution")
        .filter(|v| !v.is_null());
    if preferred.is_some() == required.is_some() {
        out.invalid(
            path,
            format!(
                "\"antiAffinity.PreferredDuringSchedulingIgnoredDuringExecution: {} antiAffinity.RequiredDuringSchedulingIgnoredDuringExecution: {}\"",
                preferred.is_some(),
                required.is_some()
            ),
            "AntiAffinity must have exactly one strategy listed",
        );
    }
    if let Some(weight) = preferred.map(|p| int(p.get("weight")).unwrap_or(0))
        && !(1..=100).contains(&weight)
    {
        out.invalid(
            &format!("{path}.weight"),
            weight,
            "AntiAffinity weight must be between 1-100",
        );
    }
}

/// A pause's duration in seconds as upstream's `RolloutPause.DurationSeconds` computes it:
/// an integer, or a string holding an integer (seconds) or a Go duration ("30s", "1h30m");
/// -1 when the string is neither. No duration is 0 (wait for promotion).
pub fn pause_seconds(duration: Option<&Value>) -> i64 {
    match duration {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(s)) => match s.parse::<i32>() {
            Ok(n) => i64::from(n),
            Err(_) => go_duration_seconds(s).map_or(-1, |d| d.trunc() as i64),
        },
        _ => 0,
    }
}

/// Seconds of a Go `time.ParseDuration` string: an optional sign, then one or more
/// decimal numbers each with a unit (ns, us, µs, ms, s, m, h); "0" alone is allowed.
fn go_duration_seconds(s: &str) -> Option<f64> {
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if !number.bytes().any(|b| b.is_ascii_digit()) || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    // Go's Duration is int64 nanoseconds: about 292 years.
    if total > (i64::MAX as f64) / 1e9 {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// An int-or-string as upstream reads maxSurge/maxUnavailable: "N%" is N, "N" is N, an
/// integer is itself; anything else is 0.
fn int_or_percent(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.strip_suffix('%').unwrap_or(s).parse().unwrap_or(0),
        _ => 0,
    }
}

/// An int-or-string as Go prints one: the number or the text, unquoted.
fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The objects a Rollout names, looked up among the input.
struct Refs<'a> {
    ns: Option<&'a str>,
    all: &'a [&'a Value],
    pod_labels: Option<&'a Value>,
    has_template: bool,
}

impl Refs<'_> {
    fn find(&self, kind: &str, name: &str, namespaced: bool) -> Option<&Value> {
        self.all.iter().copied().find(|o| {
            o["kind"].as_str() == Some(kind)
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                && (!namespaced || namespace(o) == self.ns)
        })
    }

    fn in_ns(&self) -> String {
        self.ns
            .map(|n| format!(" (namespace {n})"))
            .unwrap_or_default()
    }

    fn not_in_input(
        &self,
        path: &str,
        kind: &str,
        name: &str,
        namespaced: bool,
        out: &mut Findings,
    ) {
        let scope = if namespaced {
            self.in_ns()
        } else {
            String::new()
        };
        out.warn(
            path,
            format!(
                "{kind} {name:?} is not in the input{scope}: it must exist in the cluster when the Rollout is applied"
            ),
        );
    }

    fn canary(&self, canary: &Value, out: &mut Findings) {
        const BASE: &str = ".spec.strategy.canary";
        for field in ["canaryService", "stableService"] {
            self.service(canary, field, &format!("{BASE}.{field}"), out);
        }
        if let Some(ping_pong) = canary.get("pingPong") {
            for field in ["pingService", "pongService"] {
                self.service(ping_pong, field, &format!("{BASE}.pingPong.{field}"), out);
            }
        }
        self.ingresses(canary, out);
        for (i, step) in canary["steps"].as_array().into_iter().flatten().enumerate() {
            if let Some(analysis) = step.get("analysis") {
                self.analysis(analysis, &format!("{BASE}.steps[{i}].analysis"), out);
            }
        }
        if let Some(analysis) = canary.get("analysis") {
            self.analysis(analysis, &format!("{BASE}.analysis"), out);
        }
    }

    fn blue_green(&self, bg: &Value, out: &mut Findings) {
        for field in ["activeService", "previewService"] {
            self.service(bg, field, &format!(".spec.strategy.blueGreen.{field}"), out);
        }
        for field in ["prePromotionAnalysis", "postPromotionAnalysis"] {
            if let Some(analysis) = bg.get(field) {
                self.analysis(analysis, &format!(".spec.strategy.blueGreen.{field}"), out);
            }
        }
    }

    /// The Service named in `parent[field]` selects the Rollout's pods: every selector label
    /// but the pod-template hash (the controller adds that one) is a pod template label.
    fn service(&self, parent: &Value, field: &str, path: &str, out: &mut Findings) {
        let Some(name) = parent
            .get(field)
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return;
        };
        let Some(svc) = self.find("Service", name, true) else {
            self.not_in_input(path, "Service", name, true, out);
            return;
        };
        if !self.has_template {
            return;
        }
        for (key, value) in svc
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if key != POD_TEMPLATE_HASH && label(self.pod_labels, key) != value.as_str() {
                out.invalid(
                    path,
                    format!("{name:?}"),
                    &format!("Service {name:?} has unmatch label {key:?} in rollout"),
                );
            }
        }
    }

    /// The nginx / ALB Ingresses the canary names route to the stable (or ALB root) Service,
    /// as the controller requires (validation_references.go `ValidateIngress`, run at
    /// reconcile: InvalidSpec). A warning: upstream's linter only pairs an Ingress with a
    /// Rollout when it has such a rule, so it never reports this (its own suite calls
    /// valid-nginx-canary.yml valid), and lint agrees with it on what is valid.
    fn ingresses(&self, canary: &Value, out: &mut Findings) {
        let routing = &canary["trafficRouting"];
        let stable = canary["stableService"].as_str().unwrap_or("");
        let mut named: Vec<(String, &str, String)> = Vec::new();
        let mut collect = |router: &str, single: &str, multiple: &str, service: &str| {
            let base = format!(".spec.strategy.canary.trafficRouting.{router}");
            if let Some(name) = routing[router][single].as_str() {
                named.push((format!("{base}.{single}"), name, service.to_string()));
            }
            for name in routing[router][multiple]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                named.push((format!("{base}.{multiple}"), name, service.to_string()));
            }
        };
        collect("nginx", "stableIngress", "stableIngresses", stable);
        let alb_service = routing["alb"]["rootService"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(stable);
        collect("alb", "ingress", "ingresses", alb_service);
        for (path, name, service) in named {
            let Some(ingress) = self.find("Ingress", name, true) else {
                self.not_in_input(&path, "Ingress", name, true, out);
                continue;
            };
            let routes_to_service = ingress
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|rule| rule.pointer("/http/paths").and_then(Value::as_array))
                .flatten()
                .any(|p| {
                    // networking.k8s.io/v1, then extensions/v1beta1.
                    p.pointer("/backend/service/name").and_then(Value::as_str) == Some(&service)
                        || p.pointer("/backend/serviceName").and_then(Value::as_str)
                            == Some(&service)
                });
            if !routes_to_service {
                out.warn(
                    &path,
                    format!(
                        "ingress `{name}` has no rules using service {service} backend: the controller will mark the Rollout InvalidSpec"
                    ),
                );
            }
        }
    }

    /// Each referenced template that is in the input gets every argument it needs.
    fn analysis(&self, analysis: &Value, base: &str, out: &mut Findings) {
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
                self.not_in_input(&path, kind, name, !cluster, out);
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
                    out.error(
                        &format!("{base}.args"),
                        format!(
                            "{kind} {name:?} needs argument {arg_name:?}, which is not supplied"
                        ),
                    );
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pause_durations_are_read_as_upstream_reads_them() {
        for (duration, seconds) in [
            (json!(30), 30),
            (json!("30"), 30),
            (json!("30s"), 30),
            (json!("1h30m"), 5400),
            (json!("1.5m"), 90),
            (json!("500ms"), 0),
            (json!("-5"), -5),
            (json!("-1m"), -60),
            (json!("0"), 0),
            (json!("thirty"), -1),
            (json!("30 s"), -1),
            (json!("5d"), -1),
            (json!(""), -1),
        ] {
            assert_eq!(pause_seconds(Some(&duration)), seconds, "{duration}");
        }
        assert_eq!(pause_seconds(None), 0);
    }

    #[test]
    fn max_surge_reads_percentages_and_numbers() {
        assert_eq!(int_or_percent(&json!("0%")), 0);
        assert_eq!(int_or_percent(&json!("25%")), 25);
        assert_eq!(int_or_percent(&json!(1)), 1);
        assert_eq!(int_or_percent(&json!("0")), 0);
    }
}
