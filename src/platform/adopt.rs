//! On an existing cluster: what it already runs, and what kindling does about each part —
//! reuse it (and say so), install its own, or refuse with what to do. `detect` reads the
//! cluster; `decide` is the policy, a pure function of the configuration, what was found and
//! kindling's record (`inventory`): a component kindling installed before is kindling's and
//! is never "found".
//!
//! | found | kindling |
//! | --- | --- |
//! | `network.ingress_class` set | uses that IngressClass (must exist), installs no Traefik |
//! | an IngressClass `traefik` not kindling's (k3s's Traefik) | refuses: set `network.ingress_class = "traefik"` |
//! | cert-manager (CRD `certificates.cert-manager.io` and its webhook) ≥ v1.2.0 | reuses it (no cert-manager Application); older, or CRDs without a webhook: refuses |
//! | the metrics API (APIService `v1beta1.metrics.k8s.io`) Available | reuses it (no metrics-server); not Available: refuses |
//! | Prometheus operator CRDs (`monitoring.coreos.com`) ≥ 0.93.0 | reuses them (kube-prometheus-stack with `crds.enabled: false`); older: refuses |
//! | Argo CD (`argocd-server`) in `argocd`, ≥ v3.1.0 (OCI sources) | reuses it (no install, no Argo CD Ingress); elsewhere or older: refuses |
//! | Argo Rollouts' CRDs | refuses (kindling installs its own controller and dashboard) |
//! | Traefik's CRDs (`traefik.io`) | kindling's Traefik skips its CRDs (it serves Ingresses only) |
//! | a namespace kindling would deploy into, not kindling's | refuses (except `default`) |
//!
//! Versions: cert-manager v1.2.0 added the `cert-manager.io/usages` Ingress annotation every
//! kindling Ingress carries (release notes v1.2.0-alpha.2, #3545); Argo CD v3.1 reads `oci://`
//! sources; 0.93 is the prometheus-operator of kube-prometheus-stack 88.5.3's CRDs.

use super::applications::{self, INGRESS_CLASS};
use super::inventory::Inventory;
use crate::config::Config;
use crate::error::{Error, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub const MIN_CERT_MANAGER: (u64, u64, u64) = (1, 2, 0);
pub const MIN_ARGOCD: (u64, u64, u64) = (3, 1, 0);
pub const MIN_PROMETHEUS_OPERATOR: (u64, u64, u64) = (0, 93, 0);

/// The Prometheus operator CRDs kube-prometheus-stack 88.5.3 installs (its `crds` subchart,
/// charts/crds/crds/crd-*.yaml): reusing a cluster's means reusing all of them.
pub const PROMETHEUS_OPERATOR_CRDS: &[&str] = &[
    "alertmanagerconfigs",
    "alertmanagers",
    "podmonitors",
    "probes",
    "prometheusagents",
    "prometheuses",
    "prometheusrules",
    "scrapeconfigs",
    "servicemonitors",
    "thanosrulers",
];

/// Components by the names kindling records them under (`argocd` and the Application names).
pub const ARGOCD: &str = "argocd";
pub const TRAEFIK: &str = "traefik";
pub const CERT_MANAGER: &str = "cert-manager";
pub const METRICS_SERVER: &str = "metrics-server";
pub const KUBE_PROMETHEUS_STACK: &str = "kube-prometheus-stack";
pub const ARGO_ROLLOUTS: &str = "argo-rollouts";

/// "v1.21.1", "0.93.1", "v3.5.1-rc1" → (1, 21, 1); None when not a version.
pub fn version_of(text: &str) -> Option<(u64, u64, u64)> {
    let core = text.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

fn at_least(version: &str, min: (u64, u64, u64)) -> bool {
    version_of(version).is_some_and(|v| v >= min)
}

fn format_version(v: (u64, u64, u64)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// A workload found in the cluster: where it runs and which version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub namespace: String,
    pub version: String,
}

/// One IngressClass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub name: String,
    pub controller: String,
    pub default: bool,
}

/// What the cluster has, as `detect` read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub namespaces: BTreeSet<String>,
    pub ingress_classes: Vec<Class>,
    /// CRD names → their `operator.prometheus.io/version` annotation (when they have one).
    pub crds: BTreeMap<String, Option<String>>,
    pub cert_manager_webhook: Option<Running>,
    /// The APIService `v1beta1.metrics.k8s.io`: whether it is Available, and why not.
    pub metrics_api: Option<std::result::Result<(), String>>,
    pub argocd_server: Option<Running>,
}

/// What kindling does with each part on this cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Component → what kindling reuses instead of installing it.
    pub reused: BTreeMap<String, String>,
    /// Components kindling installs.
    pub installed: BTreeSet<String>,
    /// Namespaces kindling will create (absent now).
    pub new_namespaces: BTreeSet<String>,
    /// Where cert-manager runs (its cluster resource namespace: the CA Secret goes there).
    pub cert_manager_namespace: String,
    /// Traefik's CRDs exist and are someone else's: kindling's Traefik skips them.
    pub skip_traefik_crds: bool,
    /// Things worth saying that change nothing.
    pub notes: Vec<String>,
}

impl Plan {
    /// Everything installed (kind: kindling owns the cluster).
    pub fn install_everything(config: &Config) -> Plan {
        let mut installed: BTreeSet<String> = applications::all(config)
            .iter()
            .filter_map(|a| a["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        installed.insert(ARGOCD.into());
        Plan {
            installed,
            cert_manager_namespace: crate::tls::cluster::NAMESPACE.into(),
            ..Plan::default()
        }
    }

    pub fn reuses(&self, component: &str) -> bool {
        self.reused.contains_key(component)
    }

    /// The platform Applications adjusted to this plan: reused components left out, reused
    /// CRDs not installed again.
    pub fn applications(&self, mut apps: Vec<Value>) -> Vec<Value> {
        apps.retain(|a| {
            let name = a["metadata"]["name"].as_str().unwrap_or_default();
            a["kind"] != "Application"
                || !(name == CERT_MANAGER && self.reuses(CERT_MANAGER)
                    || name == METRICS_SERVER && self.reuses(METRICS_SERVER))
        });
        for app in apps.iter_mut().filter(|a| a["kind"] == "Application") {
            let name = app["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let helm = &mut app["spec"]["source"]["helm"];
            if name == KUBE_PROMETHEUS_STACK && self.reuses("prometheus-operator-crds") {
                helm["valuesObject"]["crds"] = json!({ "enabled": false });
            }
            if name == TRAEFIK && self.skip_traefik_crds {
                // Argo CD's `helm.skipCrds`: the chart's crds/ folder is not applied.
                helm["skipCrds"] = json!(true);
            }
        }
        apps
    }

    /// Every platform Application name this plan keeps (what the platform step waits for).
    pub fn application_names(&self, config: &Config) -> Vec<String> {
        self.applications(applications::all(config))
            .iter()
            .filter_map(|a| a["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }
}

/// The namespaces kindling's installs deploy into, by component ("" = the demo).
fn namespaces_of(config: &Config) -> Vec<(&'static str, String)> {
    let mut out = vec![(ARGOCD, applications::ARGOCD_NAMESPACE.to_string())];
    for app in applications::all(config) {
        let name = app["metadata"]["name"].as_str().unwrap_or_default();
        let component = [
            TRAEFIK,
            CERT_MANAGER,
            METRICS_SERVER,
            KUBE_PROMETHEUS_STACK,
            ARGO_ROLLOUTS,
        ]
        .into_iter()
        .find(|c| *c == name)
        .unwrap_or("");
        if let Some(ns) = app["spec"]["destination"]["namespace"].as_str() {
            out.push((component, ns.to_string()));
        }
    }
    for env in &crate::environments::ENVIRONMENTS {
        out.push(("", env.namespace.to_string()));
    }
    out
}

/// Namespaces every cluster has and kindling may use but never creates or deletes.
const SHARED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

fn refuse(what: impl Into<String>, why: impl std::fmt::Display, hint: impl Into<String>) -> Error {
    Error::failed(what, why).with_hint(hint)
}

/// The policy (see the module comment).
pub fn decide(config: &Config, found: &Findings, record: &Inventory) -> Result<Plan> {
    let mut plan = Plan::install_everything(config);
    let ours = |component: &str| record.installed.contains(component);
    let crd = |name: &str| found.crds.contains_key(name);
    let mut problems: Vec<Error> = Vec::new();

    // The ingress controller.
    match applications::adopted_ingress_class(config) {
        Some(class) => match found.ingress_classes.iter().find(|c| c.name == class) {
            Some(c) => {
                plan.reused.insert(
                    TRAEFIK.into(),
                    format!("IngressClass {class} (controller {})", c.controller),
                );
            }
            None => problems.push(refuse(
                "network.ingress_class",
                format!("the cluster has no IngressClass {class:?}"),
                format!(
                    "IngressClasses here: {} — or set network.ingress_class = \"\" and kindling installs Traefik",
                    names(found.ingress_classes.iter().map(|c| c.name.as_str()))
                ),
            )),
        },
        None => {
            if let Some(c) = found.ingress_classes.iter().find(|c| c.name == INGRESS_CLASS)
                && !ours(TRAEFIK)
            {
                problems.push(refuse(
                    "the ingress controller",
                    format!(
                        "the cluster already has IngressClass {INGRESS_CLASS} (controller {}), \
                         which kindling's Traefik would take over",
                        c.controller
                    ),
                    format!(
                        "set network.ingress_class = \"{INGRESS_CLASS}\" to use the cluster's own \
                         ingress controller (k3s ships Traefik)"
                    ),
                ));
            }
            let others: Vec<String> = found
                .ingress_classes
                .iter()
                .filter(|c| c.name != INGRESS_CLASS)
                .map(|c| {
                    format!(
                        "{}{}",
                        c.name,
                        if c.default { " (default)" } else { "" }
                    )
                })
                .collect();
            if !others.is_empty() {
                plan.notes.push(format!(
                    "IngressClass {} found: kindling installs Traefik (class {INGRESS_CLASS}); set \
                     network.ingress_class to use one of them instead",
                    others.join(", ")
                ));
            }
        }
    }
    plan.installed.retain(|c| !plan.reused.contains_key(c));
    if crd("ingressroutes.traefik.io") && !ours(TRAEFIK) && !plan.reuses(TRAEFIK) {
        plan.skip_traefik_crds = true;
        plan.notes.push(
            "Traefik's CRDs exist (traefik.io): kindling's Traefik serves Ingresses only and \
             leaves them alone"
                .into(),
        );
    }

    // cert-manager.
    if crd("certificates.cert-manager.io") && !ours(CERT_MANAGER) {
        match &found.cert_manager_webhook {
            Some(run) if at_least(&run.version, MIN_CERT_MANAGER) => {
                plan.reused.insert(
                    CERT_MANAGER.into(),
                    format!("cert-manager {} in namespace {}", run.version, run.namespace),
                );
                plan.cert_manager_namespace = run.namespace.clone();
            }
            Some(run) => problems.push(refuse(
                "cert-manager",
                format!(
                    "the cluster runs cert-manager {} (namespace {}); kindling needs v{} or newer",
                    run.version,
                    run.namespace,
                    format_version(MIN_CERT_MANAGER)
                ),
                "upgrade cert-manager, or remove it and let kindling install its own",
            )),
            None => problems.push(refuse(
                "cert-manager",
                "cert-manager's CRDs exist (certificates.cert-manager.io) but no cert-manager webhook runs",
                "finish or remove that cert-manager installation (`kubectl get deploy -A -l app.kubernetes.io/component=webhook`)",
            )),
        }
    }

    // The metrics API.
    if !ours(METRICS_SERVER)
        && let Some(state) = &found.metrics_api
    {
        match state {
            Ok(()) => {
                plan.reused.insert(
                    METRICS_SERVER.into(),
                    "the metrics API (APIService v1beta1.metrics.k8s.io, Available)".into(),
                );
            }
            Err(why) => problems.push(refuse(
                "the metrics API",
                format!("APIService v1beta1.metrics.k8s.io exists but is not Available: {why}"),
                "fix the cluster's metrics-server (`kubectl get apiservice v1beta1.metrics.k8s.io`); \
                 the production HPA needs it",
            )),
        }
    }

    // Prometheus operator CRDs.
    let monitoring: Vec<(&String, &Option<String>)> = found
        .crds
        .iter()
        .filter(|(name, _)| name.ends_with(".monitoring.coreos.com"))
        .collect();
    if !monitoring.is_empty() && !ours(KUBE_PROMETHEUS_STACK) {
        // The oldest of them decides.
        let version = monitoring
            .iter()
            .map(|(_, v)| (*v).clone().unwrap_or_default())
            .min_by_key(|v| version_of(v))
            .unwrap_or_default();
        let missing: Vec<String> = PROMETHEUS_OPERATOR_CRDS
            .iter()
            .map(|plural| format!("{plural}.monitoring.coreos.com"))
            .filter(|name| !found.crds.contains_key(name))
            .collect();
        if !missing.is_empty() {
            problems.push(refuse(
                "Prometheus operator CRDs",
                format!(
                    "the cluster has some of the monitoring.coreos.com CRDs but not {}; \
                     kube-prometheus-stack needs all of them and would install the rest over theirs",
                    missing.join(", ")
                ),
                "install the whole set (prometheus-operator's CRDs), or remove them",
            ));
        } else if at_least(&version, MIN_PROMETHEUS_OPERATOR) {
            plan.reused.insert(
                "prometheus-operator-crds".into(),
                format!("Prometheus operator CRDs {version}"),
            );
        } else {
            problems.push(refuse(
                "Prometheus operator CRDs",
                format!(
                    "the cluster's monitoring.coreos.com CRDs are {}; kube-prometheus-stack {} needs {} or newer",
                    if version.is_empty() { "of an unknown version" } else { &version },
                    config.components.kube_prometheus_stack,
                    format_version(MIN_PROMETHEUS_OPERATOR)
                ),
                "upgrade the prometheus-operator CRDs, or remove them",
            ));
        }
    }

    // Argo CD.
    if !ours(ARGOCD) {
        match &found.argocd_server {
            Some(run)
                if run.namespace == applications::ARGOCD_NAMESPACE
                    && at_least(&run.version, MIN_ARGOCD) =>
            {
                plan.reused.insert(
                    ARGOCD.into(),
                    format!("Argo CD {} in namespace {}", run.version, run.namespace),
                );
            }
            Some(run) if run.namespace != applications::ARGOCD_NAMESPACE => problems.push(refuse(
                "Argo CD",
                format!(
                    "Argo CD {} runs in namespace {}; kindling's Applications live in {}",
                    run.version,
                    run.namespace,
                    applications::ARGOCD_NAMESPACE
                ),
                "use a cluster without Argo CD, or one whose Argo CD runs in namespace argocd",
            )),
            Some(run) => problems.push(refuse(
                "Argo CD",
                format!(
                    "the cluster runs Argo CD {}; kindling needs v{} or newer (OCI sources)",
                    run.version,
                    format_version(MIN_ARGOCD)
                ),
                "upgrade Argo CD, or remove it and let kindling install its own",
            )),
            None if crd("applications.argoproj.io") => problems.push(refuse(
                "Argo CD",
                "Argo CD's CRDs exist (applications.argoproj.io) but no argocd-server runs",
                "finish or remove that Argo CD installation",
            )),
            None => {}
        }
    }

    // Argo Rollouts.
    if crd("rollouts.argoproj.io") && !ours(ARGO_ROLLOUTS) {
        problems.push(refuse(
            "Argo Rollouts",
            "Argo Rollouts is already installed (CRD rollouts.argoproj.io); kindling installs its \
             own controller and dashboard",
            "use a cluster without Argo Rollouts, or remove it",
        ));
    }

    plan.installed = plan
        .installed
        .iter()
        .filter(|c| !plan.reused.contains_key(*c))
        .cloned()
        .collect();
    if plan.reuses("prometheus-operator-crds") {
        plan.installed.insert(KUBE_PROMETHEUS_STACK.into());
    }

    // Namespaces: those of what kindling installs (and the demo's) must be new or kindling's.
    for (component, namespace) in namespaces_of(config) {
        let installing = component.is_empty() || plan.installed.contains(component);
        if !installing || SHARED_NAMESPACES.contains(&namespace.as_str()) {
            continue;
        }
        if !found.namespaces.contains(&namespace) {
            plan.new_namespaces.insert(namespace);
        } else if !record.namespaces.contains(&namespace) {
            problems.push(refuse(
                format!("namespace {namespace}"),
                format!(
                    "namespace {namespace} exists and kindling did not create it; kindling would deploy {} into it",
                    if component.is_empty() { "the demo app" } else { component }
                ),
                format!("if nothing uses it, delete it (`kubectl delete namespace {namespace}`); else use another cluster"),
            ));
        }
    }

    match problems.len() {
        0 => Ok(plan),
        1 => Err(problems.remove(0)),
        n => {
            let hints: Vec<String> = problems.iter().flat_map(Error::hints).collect();
            let why = problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let mut error = Error::failed(format!("the existing cluster: {n} problems"), why);
            for hint in hints {
                error = error.with_hint(hint);
            }
            Err(error)
        }
    }
}

fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = list.collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

/// The version of a workload: its `app.kubernetes.io/version` label, else its first image's tag.
fn running(d: &Deployment) -> Running {
    let label = d
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/version").cloned());
    let tag = d
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.as_deref())
        .and_then(|image| image.split('@').next())
        .and_then(|image| image.rsplit_once(':'))
        .map(|(_, tag)| tag.to_string());
    Running {
        namespace: d.metadata.namespace.clone().unwrap_or_default(),
        version: label.or(tag).unwrap_or_else(|| "(unknown version)".into()),
    }
}

fn listing(what: &str, e: kube::Error) -> Error {
    Error::failed(format!("listing {what} in the existing cluster"), e).with_hint(
        "kindling needs to read the cluster's CRDs, IngressClasses, APIServices, Namespaces and \
         Deployments: check the kube context's permissions (`kubectl auth can-i list crds`)",
    )
}

/// Reads what the cluster has.
pub async fn detect(client: &kube::Client) -> Result<Findings> {
    let all = ListParams::default();
    let namespaces = Api::<Namespace>::all(client.clone())
        .list(&all)
        .await
        .map_err(|e| listing("namespaces", e))?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    let ingress_classes = Api::<IngressClass>::all(client.clone())
        .list(&all)
        .await
        .map_err(|e| listing("IngressClasses", e))?
        .items
        .into_iter()
        .map(|c| Class {
            default: c
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class"))
                .is_some_and(|v| v == "true"),
            name: c.metadata.name.unwrap_or_default(),
            controller: c.spec.and_then(|s| s.controller).unwrap_or_default(),
        })
        .collect();
    let crds = Api::<CustomResourceDefinition>::all(client.clone())
        .list_metadata(&all)
        .await
        .map_err(|e| listing("CRDs", e))?
        .items
        .into_iter()
        .map(|c| {
            let version = c
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("operator.prometheus.io/version").cloned());
            (c.metadata.name.unwrap_or_default(), version)
        })
        .collect();
    let deployments = Api::<Deployment>::all(client.clone());
    let webhooks = deployments
        .list(&ListParams::default().labels("app.kubernetes.io/component=webhook"))
        .await
        .map_err(|e| listing("Deployments", e))?;
    let cert_manager_webhook = webhooks
        .items
        .iter()
        .find(|d| {
            let image = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            image.contains("cert-manager-webhook")
        })
        .map(running);
    let argocd_server = deployments
        .list(&ListParams::default().labels("app.kubernetes.io/name=argocd-server"))
        .await
        .map_err(|e| listing("Deployments", e))?
        .items
        .first()
        .map(running);
    let metrics_api = match Api::<APIService>::all(client.clone())
        .get_opt("v1beta1.metrics.k8s.io")
        .await
    {
        Ok(Some(service)) => {
            let available = service
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Available");
            Some(match available {
                Some(c) if c.status == "True" => Ok(()),
                Some(c) => Err(format!(
                    "{}: {}",
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                )),
                None => Err("no Available condition yet".into()),
            })
        }
        Ok(None) => None,
        Err(e) => return Err(listing("APIServices", e)),
    };
    Ok(Findings {
        namespaces,
        ingress_classes,
        crds,
        cert_manager_webhook,
        metrics_api,
        argocd_server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Provider;

    fn existing() -> Config {
        let mut config = Config::builtin();
        config.cluster.provider = Provider::Existing;
        config.network.domain = "platform.example.com".into();
        config
    }

    fn bare() -> Findings {
        Findings {
            namespaces: ["default", "kube-system", "kube-public"]
                .map(String::from)
                .into(),
            ..Findings::default()
        }
    }

    #[test]
    fn versions_read_like_the_tags_and_annotations_write_them() {
        assert_eq!(version_of("v1.21.1"), Some((1, 21, 1)));
        assert_eq!(version_of("0.93.1"), Some((0, 93, 1)));
        assert_eq!(version_of("v3.5.1-rc1"), Some((3, 5, 1)));
        assert_eq!(version_of("latest"), None);
        assert!(!at_least("v1.1.9", MIN_CERT_MANAGER));
        assert!(at_least("v1.2.0", MIN_CERT_MANAGER));
    }

    #[test]
    fn on_a_bare_cluster_everything_is_installed_and_every_namespace_is_new() {
        let config = existing();
        let plan = decide(&config, &bare(), &Inventory::default()).unwrap();
        assert!(plan.reused.is_empty(), "{plan:?}");
        for c in [ARGOCD, TRAEFIK, CERT_MANAGER, METRICS_SERVER] {
            assert!(plan.installed.contains(c), "{c}: {plan:?}");
        }
        for ns in [
            "argocd",
            "traefik",
            "cert-manager",
            "monitoring",
            "staging",
            "production",
        ] {
            assert!(plan.new_namespaces.contains(ns), "{ns}: {plan:?}");
        }
        assert!(!plan.new_namespaces.contains("default"));
        assert!(!plan.new_namespaces.contains("kube-system"));
    }

    #[test]
    fn what_the_cluster_runs_is_reused_and_left_out_of_the_platform() {
        let config = existing();
        let mut found = bare();
        found.namespaces.insert("cert-manager".into());
        found
            .crds
            .insert("certificates.cert-manager.io".into(), None);
        found.cert_manager_webhook = Some(Running {
            namespace: "cert-manager".into(),
            version: "v1.19.2".into(),
        });
        found.metrics_api = Some(Ok(()));
        for plural in PROMETHEUS_OPERATOR_CRDS {
            found.crds.insert(
                format!("{plural}.monitoring.coreos.com"),
                Some("0.93.1".into()),
            );
        }
        found.ingress_classes.push(Class {
            name: "nginx".into(),
            controller: "k8s.io/ingress-nginx".into(),
            default: true,
        });
        let plan = decide(&config, &found, &Inventory::default()).unwrap();
        assert!(
            plan.reuses(CERT_MANAGER) && plan.reuses(METRICS_SERVER),
            "{plan:?}"
        );
        assert!(!plan.installed.contains(CERT_MANAGER));
        assert!(
            plan.notes.iter().any(|n| n.contains("nginx (default)")),
            "{plan:?}"
        );
        let apps = plan.applications(applications::all(&config));
        let names: Vec<&str> = apps
            .iter()
            .filter_map(|a| a["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, ["traefik", "kube-prometheus-stack", "argo-rollouts"]);
        let stack = apps
            .iter()
            .find(|a| a["metadata"]["name"] == "kube-prometheus-stack")
            .unwrap();
        assert_eq!(
            stack["spec"]["source"]["helm"]["valuesObject"]["crds"]["enabled"],
            false
        );
        // cert-manager's namespace is not kindling's to create.
        assert!(!plan.new_namespaces.contains("cert-manager"), "{plan:?}");
    }

    #[test]
    fn what_is_too_old_or_someone_elses_is_refused_with_what_to_do() {
        let config = existing();
        let mut found = bare();
        found
            .crds
            .insert("certificates.cert-manager.io".into(), None);
        found.cert_manager_webhook = Some(Running {
            namespace: "cert-manager".into(),
            version: "v1.1.0".into(),
        });
        found.ingress_classes.push(Class {
            name: "traefik".into(),
            controller: "traefik.io/ingress-controller".into(),
            default: true,
        });
        found.namespaces.insert("monitoring".into());
        // Only the ServiceMonitor CRD, as some operators ship it alone.
        found.crds.insert(
            "servicemonitors.monitoring.coreos.com".into(),
            Some("0.93.0".into()),
        );
        let e = decide(&config, &found, &Inventory::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("but not alertmanagerconfigs.monitoring.coreos.com"),
            "{text}"
        );
        assert!(text.contains("cert-manager v1.1.0"), "{text}");
        assert!(text.contains("IngressClass traefik"), "{text}");
        assert!(text.contains("namespace monitoring exists"), "{text}");
        assert!(
            e.hints()
                .iter()
                .any(|h| h.contains("network.ingress_class = \"traefik\"")),
            "{:?}",
            e.hints()
        );
    }

    #[test]
    fn what_kindling_installed_before_is_its_own_on_the_next_run() {
        let config = existing();
        let first = decide(&config, &bare(), &Inventory::default()).unwrap();
        let record = Inventory {
            namespaces: first.new_namespaces.clone(),
            installed: first.installed.clone(),
            ..Inventory::default()
        };
        // The second run sees everything kindling made.
        let mut found = bare();
        found
            .namespaces
            .extend(first.new_namespaces.iter().cloned());
        found
            .crds
            .insert("certificates.cert-manager.io".into(), None);
        found.crds.insert("applications.argoproj.io".into(), None);
        found.crds.insert("rollouts.argoproj.io".into(), None);
        found.metrics_api = Some(Ok(()));
        found.argocd_server = Some(Running {
            namespace: "argocd".into(),
            version: "v3.5.1".into(),
        });
        let second = decide(&config, &found, &record).unwrap();
        assert_eq!(second.installed, first.installed);
        assert!(second.reused.is_empty(), "{second:?}");
        assert!(second.new_namespaces.is_empty(), "{second:?}");
    }
}
