//! What kind has — and lacks — around Services, Ingresses, APIs and volumes.
//!
//! - No load-balancer controller: nothing ever writes a LoadBalancer Service's
//!   `status.loadBalancer.ingress` (kind ships no cloud provider; cloud-provider-kind is a
//!   separate tool), so Argo CD keeps such a Service Progressing.
//! - Ingress status only from the ingress controller: a running, ready Traefik pod whose args
//!   publish an address (`--providers.kubernetesingress.ingressendpoint.ip=` / `.hostname=`,
//!   or `.publishedservice=<ns>/<name>` with that Service's load-balancer address) writes it
//!   into `status.loadBalancer.ingress` of the Ingresses of its class: `ingressClassName` (or
//!   the `kubernetes.io/ingress.class` annotation) naming an IngressClass whose controller is
//!   `traefik.io/ingress-controller`, or no class when an IngressClass of Traefik's is the
//!   default (traefik v3.7 pkg/provider/kubernetes/ingress: updateIngressStatus,
//!   ingressEndpoint).
//! - APIService availability (kube-aggregator's AvailableConditionController): a local one is
//!   Available; one backed by a Service is Available only when the Service exists and has a
//!   ready endpoint, else `ServiceNotFound` / `MissingEndpoints`. So `v1beta1.metrics.k8s.io`
//!   is Available only once metrics-server is ready.
//! - HPAs (pkg/controller/podautoscaler): AbleToScale from the scale target; resource metrics
//!   need `v1beta1.metrics.k8s.io` Available and a request for the resource on every container
//!   of the target's pods: ScalingActive True ValidMetricFound, else False
//!   FailedGetResourceMetric (which Argo CD rates Degraded). Replica counts are not changed.
//! - PVCs (local-path-provisioner, WaitForFirstConsumer): Bound once a pod using the claim is
//!   scheduled, when its StorageClass exists (or the default is used); else Pending.

use super::{Ctx, name, namespace};
use serde_json::{Value, json};

const TRAEFIK_CONTROLLER: &str = "traefik.io/ingress-controller";

pub fn persistent_volume_claims(c: &Ctx) {
    let classes = c.list("storage.k8s.io/v1", "StorageClass", None);
    let pods = c.list("v1", "Pod", None);
    for pvc in c.list("v1", "PersistentVolumeClaim", None) {
        if pvc["status"]["phase"] == "Bound" {
            continue;
        }
        let class = pvc["spec"]["storageClassName"].as_str();
        let class_ok = match class {
            Some(cl) => classes.iter().any(|s| name(s) == cl),
            None => classes.iter().any(|s| {
                s["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"]
                    == "true"
            }),
        };
        let consumer_scheduled = pods.iter().any(|p| {
            namespace(p) == namespace(&pvc)
                && p["spec"]["nodeName"].is_string()
                && p["spec"]["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["persistentVolumeClaim"]["claimName"] == name(&pvc))
        });
        let phase = if class_ok && consumer_scheduled {
            "Bound"
        } else {
            "Pending"
        };
        let mut status = json!({"phase": phase});
        if phase == "Bound" {
            status["accessModes"] = pvc["spec"]["accessModes"].clone();
            status["capacity"] = pvc["spec"]["resources"]["requests"].clone();
        }
        c.set_status(&pvc, status);
    }
}

/// The address a Traefik pod publishes, from its args.
fn published(c: &Ctx, pod: &Value) -> Option<Vec<Value>> {
    let container = pod["spec"]["containers"].as_array()?.iter().find(|k| {
        k["args"].as_array().is_some_and(|a| {
            a.iter().any(|a| {
                a.as_str()
                    .is_some_and(|a| a.starts_with("--providers.kubernetesingress"))
            })
        })
    })?;
    let arg = |key: &str| -> Option<String> {
        container["args"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find_map(|a| {
                let (k, v) = a.split_once('=')?;
                k.eq_ignore_ascii_case(key).then(|| v.to_string())
            })
    };
    if let Some(ip) = arg("--providers.kubernetesingress.ingressendpoint.ip") {
        return Some(vec![json!({"ip": ip})]);
    }
    if let Some(host) = arg("--providers.kubernetesingress.ingressendpoint.hostname") {
        return Some(vec![json!({"hostname": host})]);
    }
    if let Some(svc) = arg("--providers.kubernetesingress.ingressendpoint.publishedservice") {
        let (ns, n) = svc
            .split_once('/')
            .unwrap_or((namespace(pod), svc.as_str()));
        let service = c.get("v1", "Service", Some(ns), n)?;
        let lb = service["status"]["loadBalancer"]["ingress"]
            .as_array()?
            .clone();
        return (!lb.is_empty()).then_some(lb);
    }
    None
}

pub fn ingress_status(c: &Ctx) {
    let classes = c.list("networking.k8s.io/v1", "IngressClass", None);
    let traefik_classes: Vec<&str> = classes
        .iter()
        .filter(|cl| cl["spec"]["controller"] == TRAEFIK_CONTROLLER)
        .map(name)
        .collect();
    let default_is_traefik = classes.iter().any(|cl| {
        cl["spec"]["controller"] == TRAEFIK_CONTROLLER
            && cl["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"]
                == "true"
    });
    let address = c
        .list("v1", "Pod", None)
        .iter()
        .filter(|p| p["status"]["phase"] == "Running" && super::workloads::pod_ready(p))
        .find_map(|p| published(c, p));
    let Some(address) = address else { return };
    for ing in c.list("networking.k8s.io/v1", "Ingress", None) {
        let class = ing["spec"]["ingressClassName"]
            .as_str()
            .or(ing["metadata"]["annotations"]["kubernetes.io/ingress.class"].as_str());
        let ours = match class {
            Some(cl) => {
                traefik_classes.contains(&cl) || cl == "traefik" && traefik_classes.is_empty()
            }
            None => default_is_traefik,
        };
        if ours {
            c.set_status(&ing, json!({"loadBalancer": {"ingress": address}}));
        }
    }
}

pub fn api_services(c: &Ctx) {
    for svc in c.list("apiregistration.k8s.io/v1", "APIService", None) {
        let service = &svc["spec"]["service"];
        let (available, reason, message) = if !service.is_object() {
            (
                true,
                "Local",
                "Local APIServices are always available".to_string(),
            )
        } else {
            let (ns, n) = (
                service["namespace"].as_str().unwrap_or(""),
                service["name"].as_str().unwrap_or(""),
            );
            match c.get("v1", "Service", Some(ns), n) {
                None => (
                    false,
                    "ServiceNotFound",
                    format!("service/{n} in \"{ns}\" is not present"),
                ),
                Some(s) => {
                    if super::pods::service_endpoints(c, &s).is_empty() {
                        let port = s["spec"]["ports"][0]["name"].as_str().unwrap_or("");
                        (
                            false,
                            "MissingEndpoints",
                            format!(
                                "endpoints for service/{n} in \"{ns}\" have no addresses with port name \"{port}\""
                            ),
                        )
                    } else {
                        (true, "Passed", "all checks passed".to_string())
                    }
                }
            }
        };
        let status = json!({"conditions": [{"type": "Available", "status": if available { "True" } else { "False" },
            "reason": reason, "message": message}]});
        c.set_status(&svc, status);
    }
}

fn metrics_api_available(c: &Ctx) -> bool {
    c.get(
        "apiregistration.k8s.io/v1",
        "APIService",
        None,
        "v1beta1.metrics.k8s.io",
    )
    .is_some_and(|s| {
        s["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Available" && c["status"] == "True")
        })
    })
}

pub fn horizontal_pod_autoscalers(c: &Ctx) {
    let metrics = metrics_api_available(c);
    for hpa in c.list("autoscaling/v2", "HorizontalPodAutoscaler", None) {
        let ns = namespace(&hpa);
        let target = &hpa["spec"]["scaleTargetRef"];
        let (kind, tname) = (
            target["kind"].as_str().unwrap_or(""),
            target["name"].as_str().unwrap_or(""),
        );
        let api_version = target["apiVersion"].as_str().unwrap_or("apps/v1");
        let scaled = c.get(api_version, kind, Some(ns), tname);
        let cond = |t: &str, ok: bool, reason: &str, message: String| json!({"type": t, "status": if ok { "True" } else { "False" }, "reason": reason, "message": message});
        let Some(scaled) = scaled else {
            let plural = format!("{}s", kind.to_lowercase());
            let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
            c.set_status(&hpa, json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [cond(
                "AbleToScale", false, "FailedGetScale",
                format!("the HPA controller was unable to get the target's current scale: {plural}.{group} \"{tname}\" not found"))]}));
            continue;
        };
        let current = scaled["status"]["replicas"]
            .as_i64()
            .or(scaled["spec"]["replicas"].as_i64())
            .unwrap_or(1);
        let template = &scaled["spec"]["template"]["spec"];
        let mut failure = None;
        for m in hpa["spec"]["metrics"].as_array().into_iter().flatten() {
            let resource = if m["type"] == "Resource" {
                m["resource"]["name"].as_str()
            } else if m["type"] == "ContainerResource" {
                m["containerResource"]["name"].as_str()
            } else {
                None
            };
            let Some(resource) = resource else { continue };
            let what = if m["resource"]["target"]["type"] == "Utilization"
                || m["containerResource"]["target"]["type"] == "Utilization"
            {
                format!("{resource} utilization")
            } else {
                format!("{resource} usage")
            };
            if !metrics {
                failure = Some(format!(
                    "the HPA was unable to compute the replica count: failed to get {what}: unable to get metrics for resource {resource}: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
                ));
                break;
            }
            if what.ends_with("utilization") {
                let missing = template["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|k| k["resources"]["requests"][resource].is_null());
                if let Some(k) = missing {
                    failure = Some(format!(
                        "the HPA was unable to compute the replica count: failed to get {what}: missing request for {resource} in container {} of Pod",
                        k["name"].as_str().unwrap_or("")
                    ));
                    break;
                }
            }
        }
        let min = hpa["spec"]["minReplicas"].as_i64().unwrap_or(1);
        let max = hpa["spec"]["maxReplicas"].as_i64().unwrap_or(1);
        let mut conditions = vec![cond(
            "AbleToScale",
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".into(),
        )];
        match &failure {
            Some(m) => conditions.push(cond(
                "ScalingActive",
                false,
                "FailedGetResourceMetric",
                m.clone(),
            )),
            None => {
                conditions.push(cond("ScalingActive", true, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)".into()));
                let limited = current < min || current > max;
                conditions.push(if limited {
                    cond(
                        "ScalingLimited",
                        true,
                        "TooFewReplicas",
                        "the desired replica count is less than the minimum replica count".into(),
                    )
                } else {
                    cond(
                        "ScalingLimited",
                        false,
                        "DesiredWithinRange",
                        "the desired count is within the acceptable range".into(),
                    )
                });
            }
        }
        let desired = current.clamp(min, max.max(min));
        c.set_status(&hpa, json!({"currentReplicas": current, "desiredReplicas": desired, "conditions": conditions}));
    }
}
