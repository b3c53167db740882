//! Every platform Application `kindling render` writes, rendered by real Helm v4 the way
//! Argo CD renders it (../shared/tools/helm-render, the pinned charts in
//! ../shared/upstream/charts), with the APIs the cluster will serve. What a chart does with
//! kindling's values is checked here, not on a user's laptop: the values pass the chart's
//! schema and every key kindling sets is one the chart has; nothing waits for a load balancer;
//! every Ingress is kindling's; every image comes through a pull-through cache; big CRDs are
//! applied server-side; what the demo's analyses and ServiceMonitor name exists; the Grafana
//! dashboard is where Grafana's sidecar looks.

mod support;

use kindling::config::Config;
use kindling::platform::applications::{CLUSTER_ISSUER, INGRESS_CLASS, INGRESS_USAGES};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use support::render::{HelmRender, Rendered, helm_render, kustomize, render};

/// What Kubernetes 1.36's API server serves by itself (kube-apiserver's built-in groups; the
/// versions charts test with `.Capabilities.APIVersions.Has`).
const CORE_APIS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "apiregistration.k8s.io/v1",
    "apps/v1",
    "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "certificates.k8s.io/v1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "events.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1",
    "networking.k8s.io/v1",
    "node.k8s.io/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
];

/// The last-applied-configuration annotation's limit (all annotations of an object together):
/// a bigger CRD can only be applied server-side.
const ANNOTATION_LIMIT: usize = 262_144;

/// One platform Application and what Helm renders from it.
struct App {
    name: String,
    application: Value,
    objects: Vec<Value>,
}

impl App {
    fn values(&self) -> &Value {
        &self.application["spec"]["source"]["helm"]["valuesObject"]
    }
    fn chart_file(&self, charts: &Path) -> PathBuf {
        let source = &self.application["spec"]["source"];
        let chart = source["chart"].as_str().map_or_else(
            // An OCI chart: oci://host/path/<chart>.
            || {
                source["repoURL"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            },
            str::to_string,
        );
        charts.join(format!(
            "{chart}-{}.tgz",
            source["targetRevision"].as_str().unwrap()
        ))
    }
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }
}

/// The render, helm-render, and every platform Application rendered with the APIs the cluster
/// will serve: Kubernetes' own, plus every CRD and APIService the platform installs (found by a
/// first render with the core APIs alone), plus Argo CD's CRDs.
struct Platform {
    rendered: Rendered,
    helm: HelmRender,
    apps: Vec<App>,
}

fn argocd_install() -> Option<Vec<Value>> {
    let path = support::upstream("argo-cd/v3.5.1/install.yaml")?;
    Some(kindling::lint::input::parse_documents(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// `group/version` and `group/version/Kind` for every version a CRD serves.
fn served_by(crd: &Value) -> Vec<String> {
    let spec = &crd["spec"];
    let (group, kind) = (
        spec["group"].as_str().unwrap(),
        spec["names"]["kind"].as_str().unwrap(),
    );
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] != false)
        .flat_map(|v| {
            let gv = format!("{group}/{}", v["name"].as_str().unwrap());
            [format!("{gv}/{kind}"), gv]
        })
        .collect()
}

fn platform() -> Option<Platform> {
    platform_for(&Config::builtin())
}

fn platform_for(config: &Config) -> Option<Platform> {
    let helm = helm_render()?;
    let kustomize = kustomize()?;
    let install = argocd_install()?;
    let rendered = render(config, Some(&kustomize));
    let render_all = |apis: &[String]| -> Vec<App> {
        rendered
            .objects("platform")
            .into_iter()
            .filter(|(_, o)| o["kind"] == "Application")
            .map(|(path, application)| {
                let file = rendered.out().join(&path);
                let objects = helm
                    .application(&file, apis)
                    .unwrap_or_else(|e| panic!("{path}: Helm refused kindling's values: {e}"));
                App {
                    name: application["metadata"]["name"].as_str().unwrap().into(),
                    application,
                    objects,
                }
            })
            .collect()
    };
    let core: Vec<String> = CORE_APIS.iter().map(|s| s.to_string()).collect();
    let first = render_all(&core);
    let mut apis: BTreeSet<String> = core.into_iter().collect();
    for object in first.iter().flat_map(|a| &a.objects).chain(&install) {
        match object["kind"].as_str() {
            Some("CustomResourceDefinition") => apis.extend(served_by(object)),
            Some("APIService") => {
                let spec = &object["spec"];
                apis.insert(format!(
                    "{}/{}",
                    spec["group"].as_str().unwrap(),
                    spec["version"].as_str().unwrap()
                ));
            }
            _ => {}
        }
    }
    let apis: Vec<String> = apis.into_iter().collect();
    let apps = render_all(&apis);
    Some(Platform {
        rendered,
        helm,
        apps,
    })
}

// ---- values: every key kindling sets is one the chart has ----

/// A chart read from its .tgz: values.yaml, values.schema.json, its templates and subcharts.
struct Chart {
    values: Value,
    schema: Option<Value>,
    templates: String,
    subcharts: BTreeMap<String, Chart>,
}

fn load_chart(tgz: &Path) -> Chart {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(tgz).unwrap_or_else(|e| panic!("{}: {e}", tgz.display())),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(path, bytes);
    }
    let root = files
        .keys()
        .next()
        .and_then(|p| p.split('/').next())
        .unwrap()
        .to_string();
    chart_at(&files, &format!("{root}/"))
}

fn chart_at(files: &BTreeMap<String, Vec<u8>>, prefix: &str) -> Chart {
    let read = |name: &str| files.get(&format!("{prefix}{name}"));
    let values = read("values.yaml")
        .map(|b| serde_saphyr::from_slice::<Value>(b).unwrap())
        .unwrap_or(Value::Null);
    let schema = read("values.schema.json").map(|b| serde_json::from_slice(b).unwrap());
    let templates_dir = format!("{prefix}templates/");
    let templates = files
        .iter()
        .filter(|(p, _)| p.starts_with(&templates_dir))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let mut subcharts = BTreeMap::new();
    let charts = format!("{prefix}charts/");
    for path in files.keys().filter(|p| p.starts_with(&charts)) {
        let rest = &path[charts.len()..];
        assert!(
            !rest.ends_with(".tgz"),
            "{path}: packed subcharts are not read here"
        );
        if let Some(name) = rest.strip_suffix("/Chart.yaml")
            && !name.contains('/')
        {
            subcharts.insert(
                name.to_string(),
                chart_at(files, &format!("{charts}{name}/")),
            );
        }
    }
    Chart {
        values,
        schema,
        templates,
        subcharts,
    }
}

/// Every leaf kindling sets: (path, value). Lists and empty maps are leaves.
fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match value.as_object() {
        Some(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(k.clone());
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push((path.clone(), value.clone())),
    }
}

/// Whether a template reads `.Values.<path>` (the whole path, not a longer key).
fn template_reads(templates: &str, path: &[String]) -> bool {
    let needle = format!(".Values.{}", path.join("."));
    templates.match_indices(&needle).any(|(at, _)| {
        !templates[at + needle.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Why a path is accepted, or None.
#[derive(Debug, PartialEq)]
enum Known {
    /// The key is in values.yaml.
    InValues,
    /// The schema declares the key (a property, or the entry schema of a declared map).
    InSchema,
    /// Not in values.yaml (often there as a comment) but a template reads `.Values.<path>`.
    ReadByTemplate,
    /// Under a map whose default is `{}` or null: the chart passes it on as a whole
    /// (annotations, nodeSelector, ...). Accepted only with proof that it did (see below).
    FreeForm,
}

fn schema_declares(schema: &Value, path: &[String]) -> bool {
    let mut node = schema;
    for key in path {
        if let Some(next) = node["properties"].get(key) {
            node = next;
        } else if node["additionalProperties"].is_object() {
            node = &node["additionalProperties"];
        } else {
            return false;
        }
    }
    true
}

fn known_in(chart: &Chart, path: &[String]) -> Option<Known> {
    if let Some(sub) = chart.subcharts.get(&path[0])
        && path.len() > 1
        && let Some(known) = known_in(sub, &path[1..])
    {
        return Some(known);
    }
    // `global` reaches every subchart.
    if path[0] == "global"
        && chart
            .subcharts
            .values()
            .any(|s| known_in(s, path).is_some())
    {
        return Some(Known::InValues);
    }
    let mut node = &chart.values;
    for (i, key) in path.iter().enumerate() {
        match node.get(key) {
            Some(next) => node = next,
            None => {
                if chart
                    .schema
                    .as_ref()
                    .is_some_and(|s| schema_declares(s, path))
                {
                    return Some(Known::InSchema);
                }
                if template_reads(&chart.templates, path) {
                    return Some(Known::ReadByTemplate);
                }
                let free = node.is_null() || node.as_object().is_some_and(|m| m.is_empty());
                return (i > 0 && free).then_some(Known::FreeForm);
            }
        }
    }
    Some(Known::InValues)
}

/// Whether some map in `objects` has `key` set to `value` (a list: holding all its items).
fn rendered_with(objects: &[Value], key: &str, value: &Value) -> bool {
    fn walk(v: &Value, key: &str, value: &Value) -> bool {
        match v {
            Value::Object(map) => {
                let here = map.get(key).is_some_and(|found| match (found, value) {
                    (Value::Array(have), Value::Array(want)) => {
                        want.iter().all(|w| have.contains(w))
                    }
                    (found, want) => found == want,
                });
                here || map.values().any(|c| walk(c, key, value))
            }
            Value::Array(items) => items.iter().any(|c| walk(c, key, value)),
            _ => false,
        }
    }
    objects.iter().any(|o| walk(o, key, value))
}

/// The keys kindling sets that the chart does not have (`path: why`).
fn unknown_keys(chart: &Chart, values: &Value, objects: &[Value]) -> Vec<String> {
    let mut all = Vec::new();
    leaves(values, &mut Vec::new(), &mut all);
    all.iter()
        .filter_map(|(path, value)| match known_in(chart, path) {
            Some(Known::InValues | Known::InSchema | Known::ReadByTemplate) => None,
            // Free-form is only believed when the rendered objects carry the key and value.
            Some(Known::FreeForm) if rendered_with(objects, path.last().unwrap(), value) => None,
            Some(Known::FreeForm) => Some(format!(
                "{}: under a free-form map, but no rendered object carries it",
                path.join(".")
            )),
            None => Some(format!(
                "{}: not in the chart's (or a subchart's) values.yaml or schema",
                path.join(".")
            )),
        })
        .collect()
}

#[test]
fn every_chart_accepts_kindlings_values_and_has_every_key_kindling_sets() {
    let Some(p) = platform() else {
        return;
    };
    let names: Vec<&str> = p.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names.len(),
        kindling::platform::applications::all(&p.rendered.config).len(),
        "{names:?}"
    );
    for app in &p.apps {
        // Rendering succeeded, so the values passed the chart's schema and its templates.
        assert!(!app.objects.is_empty(), "{}", app.name);
        let chart = load_chart(&app.chart_file(&p.helm.charts));
        let unknown = unknown_keys(&chart, app.values(), &app.objects);
        assert!(
            unknown.is_empty(),
            "{} sets keys its chart ignores:\n  {}",
            app.name,
            unknown.join("\n  ")
        );
    }
}

#[test]
fn the_key_check_catches_a_key_a_chart_accepts_and_ignores() {
    let Some(helm) = helm_render() else {
        return;
    };
    let config = Config::builtin();
    let dir = tempfile::tempdir().unwrap();
    let check = |application: &Value| -> Vec<String> {
        let file = dir.path().join("traefik.yaml");
        std::fs::write(&file, serde_json::to_string(application).unwrap()).unwrap();
        let objects = helm.application(&file, &[]).unwrap();
        let chart = load_chart(
            &helm
                .charts
                .join(format!("traefik-{}.tgz", config.components.traefik)),
        );
        let values = &application["spec"]["source"]["helm"]["valuesObject"];
        unknown_keys(&chart, values, &objects)
    };
    let mut traefik = kindling::platform::applications::traefik(&config);
    assert_eq!(check(&traefik), Vec::<String>::new());
    // Chart 40+ reads the Service type from service.spec.type; its schema accepts service.type.
    let values = &mut traefik["spec"]["source"]["helm"]["valuesObject"];
    values["service"] = serde_json::json!({ "type": "ClusterIP" });
    // A key under a free-form map (`deployment.podAnnotations: {}`) that the render carries.
    values["deployment"]["podAnnotations"] = serde_json::json!({ "kindling.test/x": "y" });
    let unknown = check(&traefik);
    assert!(
        unknown.contains(
            &"service.type: not in the chart's (or a subchart's) values.yaml or schema".into()
        ),
        "{unknown:?}"
    );
    assert!(
        !unknown.iter().any(|u| u.contains("podAnnotations")),
        "{unknown:?}"
    );
}

#[test]
fn a_free_form_key_is_believed_only_when_the_render_carries_it() {
    let chart = Chart {
        values: serde_json::json!({ "podAnnotations": {}, "extra": null }),
        schema: None,
        templates: String::new(),
        subcharts: BTreeMap::new(),
    };
    let values = serde_json::json!({ "podAnnotations": { "a": "b" }, "extra": { "c": 1 } });
    let carried = [serde_json::json!({ "metadata": { "annotations": { "a": "b" } } })];
    assert_eq!(
        unknown_keys(&chart, &values, &carried),
        ["extra.c: under a free-form map, but no rendered object carries it"]
    );
}

// ---- what the rendered objects must be on kind ----

fn hosts_of(ingress: &Value) -> Vec<String> {
    let spec = &ingress["spec"];
    spec["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["host"].as_str())
        .chain(
            spec["tls"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["hosts"].as_array().into_iter().flatten())
                .filter_map(Value::as_str),
        )
        .map(str::to_string)
        .collect()
}

#[test]
fn nothing_waits_for_a_load_balancer_and_every_ingress_is_kindlings() {
    let Some(p) = platform() else {
        return;
    };
    let config = &p.rendered.config;
    let domain = &config.network.domain;
    // The CA as `up` makes it: its name constraints decide which hosts it may sign.
    let ca_dir = tempfile::tempdir().unwrap();
    let (ca, _) =
        kindling::tls::ca::ensure(ca_dir.path(), &config.cluster.name, domain, false).unwrap();
    let mut ingresses = 0;
    for app in &p.apps {
        for service in app.of_kind("Service") {
            // On kind. An existing cluster's Traefik is one exactly when configured so
            // (`on_an_existing_cluster_traefik_...` below).
            assert_ne!(
                service["spec"]["type"], "LoadBalancer",
                "{}: Service {} is a LoadBalancer: kind never gives it an address, Argo CD \
                 reports it Progressing forever",
                app.name, service["metadata"]["name"]
            );
        }
        for ingress in app.of_kind("Ingress") {
            ingresses += 1;
            let name = format!("{}: Ingress {}", app.name, ingress["metadata"]["name"]);
            assert_eq!(ingress["spec"]["ingressClassName"], INGRESS_CLASS, "{name}");
            let annotations = &ingress["metadata"]["annotations"];
            assert_eq!(
                annotations["cert-manager.io/cluster-issuer"], CLUSTER_ISSUER,
                "{name}"
            );
            assert_eq!(
                annotations["cert-manager.io/usages"], INGRESS_USAGES,
                "{name}"
            );
            let hosts = hosts_of(ingress);
            assert!(!hosts.is_empty(), "{name} has no host");
            for host in hosts {
                assert!(host.ends_with(&format!(".{domain}")), "{name}: {host}");
                assert!(
                    ca.covers_domain(&host),
                    "{name}: the CA may not sign {host}"
                );
            }
        }
    }
    // Grafana, Prometheus and the Rollouts dashboard.
    assert!(ingresses >= 3, "only {ingresses} Ingresses rendered");
}

/// The registry an image reference pulls from, as containerd resolves it.
fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// Every image an object makes a node pull: pod specs of every workload kind (containers,
/// init and ephemeral containers), the image fields of prometheus-operator's CRs, and image
/// references handed to a container as `--flag=<image>` (operators start pods with them).
fn images(object: &Value) -> Vec<String> {
    let spec = &object["spec"];
    let pod = match object["kind"].as_str().unwrap_or_default() {
        "Pod" => spec,
        "CronJob" => &spec["jobTemplate"]["spec"]["template"]["spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "Rollout" => {
            &spec["template"]["spec"]
        }
        // prometheus-operator's CRs: the operator runs `spec.image` (else its default, given
        // to it as a flag) and any `spec.containers`.
        "Prometheus" | "Alertmanager" | "ThanosRuler" | "PrometheusAgent" => spec,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(image) = pod["image"].as_str() {
        out.push(image.to_string());
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for container in pod[list].as_array().into_iter().flatten() {
            if let Some(image) = container["image"].as_str() {
                out.push(image.to_string());
            }
            for arg in container["args"]
                .as_array()
                .into_iter()
                .chain(container["command"].as_array())
                .flatten()
                .filter_map(Value::as_str)
            {
                if let Some((_, value)) = arg.split_once('=')
                    && looks_like_image(value)
                {
                    out.push(value.to_string());
                }
            }
        }
    }
    out
}

/// `host/path:tag` or `host/path@sha256:...` with a registry host: an image reference.
fn looks_like_image(value: &str) -> bool {
    let Some((host, rest)) = value.split_once('/') else {
        return false;
    };
    host.contains('.')
        && !value.contains("://")
        && !value.contains([' ', ','])
        && (rest.contains(':') || rest.contains('@'))
}

#[test]
fn every_image_comes_through_a_pull_through_cache() {
    let Some(p) = platform() else {
        return;
    };
    let Some(install) = argocd_install() else {
        return;
    };
    let mirrors = &p.rendered.config.registry.mirrors;
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for app in &p.apps {
        for object in &app.objects {
            for image in images(object) {
                seen.insert(image, app.name.clone());
            }
        }
    }
    for object in &install {
        for image in images(object) {
            seen.insert(image, "argo-cd install.yaml".into());
        }
    }
    // Sanity: the flag-borne images and Argo CD's redis are among them.
    for needle in [
        "prometheus-config-reloader",
        "cert-manager-acmesolver",
        "public.ecr.aws/",
        "metrics-server",
    ] {
        assert!(
            seen.keys().any(|i| i.contains(needle)),
            "no image with {needle}: {seen:?}"
        );
    }
    let unserved: Vec<String> = seen
        .iter()
        .filter(|(image, _)| !mirrors.contains(&registry_of(image)))
        .map(|(image, from)| format!("{image} ({from}, registry {})", registry_of(image)))
        .collect();
    assert!(
        unserved.is_empty(),
        "images no cache serves (registry.mirrors = {mirrors:?}):\n  {}",
        unserved.join("\n  ")
    );
}

#[test]
fn every_crd_too_big_for_client_side_apply_is_synced_server_side() {
    let Some(p) = platform() else {
        return;
    };
    let mut big = 0;
    for app in &p.apps {
        let server_side = app.application["spec"]["syncPolicy"]["syncOptions"]
            .as_array()
            .is_some_and(|o| o.contains(&"ServerSideApply=true".into()));
        for crd in app.of_kind("CustomResourceDefinition") {
            let size = serde_json::to_string(crd).unwrap().len();
            if size > ANNOTATION_LIMIT {
                big += 1;
                assert!(
                    server_side,
                    "{}: CRD {} is {size} bytes, over the {ANNOTATION_LIMIT}-byte \
                     last-applied annotation: the Application needs ServerSideApply=true",
                    app.name, crd["metadata"]["name"]
                );
            }
        }
    }
    // kube-prometheus-stack's Prometheus and Alertmanager CRDs are this big.
    assert!(big > 0, "no CRD over the limit: the check checked nothing");
}

/// `http://<service>.<namespace>.svc[.cluster.local]:<port>` → (service, namespace, port).
fn service_address(url: &str) -> Option<(String, String, u16)> {
    let rest = url.strip_prefix("http://")?;
    let (host, port) = rest.split('/').next()?.rsplit_once(':')?;
    let mut parts = host.split('.');
    let (service, namespace, svc) = (parts.next()?, parts.next()?, parts.next()?);
    let port = port.parse().ok()?;
    (svc == "svc").then(|| (service.to_string(), namespace.to_string(), port))
}

fn has_port(service: &Value, port: u16) -> bool {
    service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p["port"] == port)
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| &labels[k] == v)
}

#[test]
fn what_the_demo_analyses_and_servicemonitor_name_exists_in_the_render() {
    let Some(p) = platform() else {
        return;
    };
    let platform_objects: Vec<&Value> = p.apps.iter().flat_map(|a| &a.objects).collect();
    let demo = p.rendered.objects("demo-environments");
    let mut addresses = 0;
    for (path, template) in demo.iter().filter(|(_, o)| o["kind"] == "AnalysisTemplate") {
        for metric in template["spec"]["metrics"].as_array().unwrap() {
            let Some(address) = metric["provider"]["prometheus"]["address"].as_str() else {
                continue;
            };
            addresses += 1;
            let (name, namespace, port) = service_address(address)
                .unwrap_or_else(|| panic!("{path}: {address} is not a Service address"));
            let found = platform_objects.iter().any(|o| {
                o["kind"] == "Service"
                    && o["metadata"]["name"] == name.as_str()
                    && o["metadata"]["namespace"] == namespace.as_str()
                    && has_port(o, port)
            });
            assert!(
                found,
                "{path}: {address} names Service {namespace}/{name} port {port}, which the \
                 platform does not render"
            );
        }
    }
    assert!(addresses > 0, "no analysis names a Prometheus address");

    // Each ServiceMonitor selects a Service of its environment with the port it scrapes...
    let monitors: Vec<&(String, Value)> = demo
        .iter()
        .filter(|(_, o)| o["kind"] == "ServiceMonitor")
        .collect();
    assert_eq!(monitors.len(), 3);
    for (path, monitor) in monitors {
        let namespace = &monitor["metadata"]["namespace"];
        for endpoint in monitor["spec"]["endpoints"].as_array().unwrap() {
            let port = &endpoint["port"];
            let found = demo.iter().any(|(_, s)| {
                s["kind"] == "Service"
                    && &s["metadata"]["namespace"] == namespace
                    && selects(&monitor["spec"]["selector"], &s["metadata"]["labels"])
                    && s["spec"]["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| &p["name"] == port)
            });
            assert!(found, "{path}: no Service it selects has a port {port}");
        }
    }
    // ...and the platform's Prometheus picks up ServiceMonitors of every namespace.
    let prometheus = platform_objects
        .iter()
        .find(|o| o["kind"] == "Prometheus")
        .expect("kube-prometheus-stack renders a Prometheus");
    for selector in ["serviceMonitorSelector", "serviceMonitorNamespaceSelector"] {
        assert_eq!(
            prometheus["spec"][selector],
            serde_json::json!({}),
            "{selector}: an empty selector matches all, a missing one matches none or its own namespace"
        );
    }
}

#[test]
fn the_dashboard_is_where_grafanas_sidecar_looks() {
    let Some(p) = platform() else {
        return;
    };
    let kps = p
        .apps
        .iter()
        .find(|a| a.name == "kube-prometheus-stack")
        .unwrap();
    let sidecar = kps
        .of_kind("Deployment")
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
        })
        .find(|c| {
            c["env"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["name"] == "LABEL" && e["value"] == "grafana_dashboard")
        })
        .expect("Grafana's dashboard sidecar is rendered");
    let env = |name: &str| -> String {
        sidecar["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (label, value, namespaces) = (env("LABEL"), env("LABEL_VALUE"), env("NAMESPACE"));
    let dashboards: Vec<(String, Value)> = p
        .rendered
        .objects("platform")
        .into_iter()
        .filter(|(_, o)| o["kind"] == "ConfigMap")
        .collect();
    assert!(!dashboards.is_empty(), "no dashboard in the render");
    for (path, dashboard) in dashboards {
        assert_eq!(
            dashboard["metadata"]["labels"][&label],
            value.as_str(),
            "{path}"
        );
        let namespace = dashboard["metadata"]["namespace"].as_str().unwrap();
        assert!(
            namespaces == "ALL" || namespaces.split(',').any(|n| n == namespace),
            "{path}: the sidecar searches {namespaces}, not {namespace}"
        );
    }
}

#[test]
fn the_charts_run_the_pinned_versions_and_metrics_server_works_on_kind() {
    let Some(p) = platform() else {
        return;
    };
    let config = &p.rendered.config;
    let app = |name: &str| p.apps.iter().find(|a| a.name == name).unwrap();

    // argo-rollouts: the chart's own app version is the pinned release (2.41.0 ships v1.9.0).
    let rollouts = app("argo-rollouts");
    let chart_yaml = read_from_tgz(&rollouts.chart_file(&p.helm.charts), "Chart.yaml");
    let chart: Value = serde_saphyr::from_str(&chart_yaml).unwrap();
    assert_eq!(
        chart["appVersion"],
        config.components.argo_rollouts.as_str()
    );
    for deployment in rollouts.of_kind("Deployment") {
        for image in images(deployment) {
            assert!(
                image.ends_with(&format!(":{}", config.components.argo_rollouts)),
                "{image}"
            );
        }
    }

    // metrics-server: serves the metrics API, and trusts kind's self-signed kubelet certificates.
    let metrics = app("metrics-server");
    let api = metrics.of_kind("APIService").next().expect("an APIService");
    assert_eq!(api["metadata"]["name"], "v1beta1.metrics.k8s.io");
    let container = &metrics.of_kind("Deployment").next().expect("a Deployment")["spec"]["template"]
        ["spec"]["containers"][0];
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&"--kubelet-insecure-tls".into()),
        "{container}"
    );
    assert!(
        container["image"].as_str().unwrap().ends_with(":v0.8.1"),
        "{container}"
    );
}

fn read_from_tgz(tgz: &Path, name: &str) -> String {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(tgz).unwrap(),
    ));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if path.split_once('/').is_some_and(|(_, rest)| rest == name) {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("no {name} in {}", tgz.display())
}

// ---- what the rendered objects must be on an existing cluster ----

fn existing(service: kindling::config::IngressService) -> Config {
    let mut config = Config::builtin();
    config.cluster.provider = kindling::config::Provider::Existing;
    config.cluster.context = "team".into();
    config.network.domain = "platform.example.com".into();
    config.network.ingress_service = service;
    if service == kindling::config::IngressService::NodePort {
        config.network.ingress_address = "203.0.113.10".into();
        config.network.http_port = 30080;
        config.network.https_port = 30443;
    }
    config
}

/// The container ports, node selector and tolerations of every pod template in `objects`.
fn pod_specs(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Deployment" | "DaemonSet" | "StatefulSet")
            )
        })
        .map(|o| &o["spec"]["template"]["spec"])
        .collect()
}

#[test]
fn on_an_existing_cluster_traefik_has_no_host_ports_or_node_selector_and_the_service_type_configured()
 {
    use kindling::config::IngressService;
    use kindling::platform::applications::TRAEFIK_SERVICE;
    for service in [IngressService::LoadBalancer, IngressService::NodePort] {
        let config = existing(service);
        let Some(p) = platform_for(&config) else {
            return;
        };
        let traefik = p.apps.iter().find(|a| a.name == "traefik").unwrap();
        let chart = load_chart(&traefik.chart_file(&p.helm.charts));
        let unknown = unknown_keys(&chart, traefik.values(), &traefik.objects);
        assert!(unknown.is_empty(), "{service:?}: {}", unknown.join("; "));

        // Any node runs it: no host ports, no ingress-ready selector, no control-plane toleration.
        let specs = pod_specs(&traefik.objects);
        assert_eq!(specs.len(), 1, "{service:?}");
        let spec = specs[0];
        let container = &spec["containers"][0];
        for port in container["ports"].as_array().unwrap() {
            assert!(port["hostPort"].is_null(), "{service:?}: host port {port}");
        }
        assert!(
            spec["nodeSelector"]["ingress-ready"].is_null(),
            "{service:?}: {spec}"
        );
        let tolerations = serde_json::to_string(&spec["tolerations"]).unwrap();
        assert!(
            !tolerations.contains("control-plane"),
            "{service:?}: {tolerations}"
        );

        // The Service is the one `up` reads, of the configured type, on the configured ports.
        let services: Vec<&Value> = traefik.of_kind("Service").collect();
        assert_eq!(services.len(), 1, "{service:?}");
        let svc = services[0];
        assert_eq!(svc["metadata"]["name"], TRAEFIK_SERVICE.1);
        assert_eq!(svc["metadata"]["namespace"], TRAEFIK_SERVICE.0);
        let args = serde_json::to_string(&container["args"]).unwrap();
        let ports = svc["spec"]["ports"].as_array().unwrap();
        let port = |name: &str| ports.iter().find(|p| p["name"] == name).unwrap().clone();
        match service {
            IngressService::LoadBalancer => {
                assert_eq!(svc["spec"]["type"], "LoadBalancer");
                assert_eq!(port("websecure")["port"], 443);
                assert_eq!(port("web")["port"], 80);
                // Every Ingress gets the Service's address (Argo CD: Healthy once it has one).
                assert!(
                    args.contains("--providers.kubernetesingress.ingressendpoint.publishedservice=traefik/traefik"),
                    "{args}"
                );
            }
            IngressService::NodePort => {
                assert_eq!(svc["spec"]["type"], "NodePort");
                assert_eq!(port("websecure")["nodePort"], 30443);
                assert_eq!(port("web")["nodePort"], 30080);
                assert!(!args.contains("publishedservice"), "{args}");
                assert!(
                    args.contains("--providers.kubernetesingress.ingressendpoint.ip=203.0.113.10"),
                    "{args}"
                );
            }
        }
        // Ingresses only (the cluster's own Traefik CRDs, if any, are left alone), and the
        // cluster's default IngressClass is not changed.
        assert!(!args.contains("--providers.kubernetescrd"), "{args}");
        let class = traefik.of_kind("IngressClass").next().unwrap();
        assert_ne!(
            class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"],
            "true"
        );
        // Nothing else asks for a load balancer, and nothing claims storage: the platform needs
        // no StorageClass (Prometheus, Alertmanager and Grafana keep their data in emptyDir).
        for app in &p.apps {
            if app.name != "traefik" {
                for svc in app.of_kind("Service") {
                    assert_ne!(svc["spec"]["type"], "LoadBalancer", "{}: {svc}", app.name);
                }
            }
            assert_eq!(
                app.of_kind("PersistentVolumeClaim").count(),
                0,
                "{}",
                app.name
            );
            for object in &app.objects {
                assert!(
                    object["spec"]["volumeClaimTemplates"].is_null()
                        && object["spec"]["storage"]["volumeClaimTemplate"].is_null(),
                    "{}: {} {} claims storage",
                    app.name,
                    object["kind"],
                    object["metadata"]["name"]
                );
            }
        }
    }
}
