//! The AnalysisTemplates' and the Grafana dashboard's queries on a real Prometheus (Debian's)
//! scraping real demo-app processes the way the cluster's Prometheus scrapes them: the scrape
//! job is the one prometheus-operator generates for kindling's ServiceMonitor (see
//! `operator_scrape_job`, derived from prometheus-operator v0.93.0), and every process is
//! offered to it as an endpoint of each demo Service, with the meta labels Kubernetes service
//! discovery (role `endpoints`) gives one — through file_sd, so Prometheus's own discovery and
//! scrape-start delays apply. The test is the kubelet too: it probes /ready and /health, so
//! the probe traffic a cluster has is there.
//!
//! Arguments are substituted like Argo Rollouts does (`{{args.name}}`), each query runs
//! through Prometheus's HTTP API, and each metric's `successCondition` is evaluated by a tiny
//! parser for the one form the templates use, `result[0] <op> <number>` (any other form fails
//! the test rather than passing unchecked). `analysis_run` measures like Argo Rollouts v1.9.1
//! (analysis/analysis.go): first measurement after `initialDelay` (at once without it), the
//! next `interval` after the previous one, a metric Failed as soon as failed > failureLimit,
//! Successful after `count` measurements, the run Failed when one metric is.

mod support;

use kindling::config::Profile;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::environments::{duration, find};

/// A child process killed on drop (also on panic).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// $KINDLING_TEST_DEMO_APP (a prebuilt binary), else target/debug/demo-app built with
/// `cargo build -p demo-app` (a workspace member; a no-op when up to date).
fn demo_app_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("KINDLING_TEST_DEMO_APP") {
        return Some(PathBuf::from(bin));
    }
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap();
    let bin = support::root().join("target/debug/demo-app");
    if !support::root().join("demo-app/src/main.rs").is_file() {
        return support::skip("demo-app/ not in this tree");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "demo-app"])
        .current_dir(support::root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p demo-app failed");
    Some(bin)
}

fn prometheus_installed() -> bool {
    Path::new("/usr/bin/prometheus").is_file()
}

/// One HTTP/1.1 GET on 127.0.0.1; the status code.
fn get(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Every object of a file under manifests/demo-app/base.
fn base(file: &str) -> Vec<Value> {
    let path = support::root().join("manifests/demo-app/base").join(file);
    kindling::lint::input::parse_documents(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What the cluster shows Prometheus about the demo app in one namespace: the Services (each
/// with its Endpoints), the pod template's labels and container.
#[derive(Clone)]
struct Cluster {
    services: Vec<Value>,
    pod_labels: BTreeMap<String, String>,
    container: String,
    service_monitor: Value,
}

impl Cluster {
    /// From the rendered objects of one environment.
    fn from_objects(objects: &[Value]) -> Cluster {
        let rollout = find(objects, "Rollout", "demo-app");
        let template = &rollout["spec"]["template"];
        Cluster {
            services: objects
                .iter()
                .filter(|o| o["kind"] == "Service")
                .cloned()
                .collect(),
            pod_labels: serde_json::from_value(template["metadata"]["labels"].clone()).unwrap(),
            container: template["spec"]["containers"][0]["name"]
                .as_str()
                .unwrap()
                .to_string(),
            service_monitor: find(objects, "ServiceMonitor", "demo-app").clone(),
        }
    }

    /// From the committed base (no kustomize needed).
    fn base() -> Cluster {
        let mut objects = base("services.yaml");
        objects.extend(base("rollout.yaml"));
        objects.extend(base("servicemonitor.yaml"));
        Cluster::from_objects(&objects)
    }

    fn probe_periods(rollout: &Value) -> (Duration, Duration) {
        let c = &rollout["spec"]["template"]["spec"]["containers"][0];
        let secs =
            |probe: &str| Duration::from_secs(c[probe]["periodSeconds"].as_u64().unwrap_or(10));
        (secs("readinessProbe"), secs("livenessProbe"))
    }
}

/// Label names as Kubernetes service discovery and prometheus-operator write them
/// (`sanitizeLabelName`): every character outside [a-zA-Z0-9_] becomes `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The scrape job prometheus-operator generates for endpoint `index` of ServiceMonitor `sm` in
/// `namespace`: `generateServiceMonitorConfig` in pkg/prometheus/promcfg.go of
/// prometheus-operator v0.93.0 (kube-prometheus-stack 88.5.3 ships v0.93.1), with the
/// defaults kindling's Prometheus has — role `endpoints` (no `serviceDiscoveryRole`), no
/// scrape classes, `overrideHonorLabels` and `enforcedNamespaceLabel` unset, one shard. In
/// order: the job name kept in `__tmp_prometheus_job_name`; `keep` on every
/// `selector.matchLabels` entry (label and labelpresent, keys sorted); `keep` on the
/// endpoint's port name; `node`/`pod` from the address target; `namespace`, `service`, `pod`,
/// `container` from the meta labels; `drop` of Failed/Succeeded pods (`filterRunning`
/// default); `targetLabels`; `podTargetLabels`; `job` = the Service name (or `jobLabel`);
/// `endpoint` = the port name; `honor_labels` as the endpoint sets it (default false).
/// Prometheus then adds `instance` (= the address). Sharding with one shard keeps every target
/// and only writes `__tmp_` labels, which Prometheus drops: left out. Anything in the
/// ServiceMonitor this does not model fails here, so the emulation cannot silently drift.
/// `interval` replaces the endpoint's own when given (the label test scrapes every second).
fn operator_scrape_job(
    sm: &Value,
    namespace: &str,
    index: usize,
    interval: Option<&str>,
    file: &Path,
) -> Value {
    let spec = &sm["spec"];
    for key in spec.as_object().unwrap().keys() {
        assert!(
            [
                "selector",
                "podTargetLabels",
                "targetLabels",
                "jobLabel",
                "endpoints"
            ]
            .contains(&key.as_str()),
            "ServiceMonitor field spec.{key} is not modelled by this emulation"
        );
    }
    let selector = spec["selector"].as_object().unwrap();
    assert!(
        selector.keys().all(|k| k == "matchLabels"),
        "only selector.matchLabels is modelled"
    );
    let ep = &spec["endpoints"][index];
    for key in ep.as_object().unwrap().keys() {
        assert!(
            ["port", "path", "interval", "scrapeTimeout", "honorLabels"].contains(&key.as_str()),
            "ServiceMonitor field endpoints[{index}].{key} is not modelled by this emulation"
        );
    }
    let port = ep["port"].as_str().expect("the endpoint names its port");
    let mut relabel =
        vec![json!({"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"})];
    let match_labels: BTreeMap<String, String> =
        serde_json::from_value(spec["selector"]["matchLabels"].clone()).unwrap();
    for (k, v) in &match_labels {
        relabel.push(json!({
            "action": "keep",
            "source_labels": [
                format!("__meta_kubernetes_service_label_{}", sanitize(k)),
                format!("__meta_kubernetes_service_labelpresent_{}", sanitize(k))
            ],
            "regex": format!("({v});true"),
        }));
    }
    relabel.push(json!({"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": port}));
    let target = [
        "__meta_kubernetes_endpoint_address_target_kind",
        "__meta_kubernetes_endpoint_address_target_name",
    ];
    for (kind, label) in [("Node", "node"), ("Pod", "pod")] {
        relabel.push(json!({
            "source_labels": target, "separator": ";", "regex": format!("{kind};(.*)"),
            "replacement": "${1}", "target_label": label,
        }));
    }
    for (meta, label) in [
        ("namespace", "namespace"),
        ("service_name", "service"),
        ("pod_name", "pod"),
        ("pod_container_name", "container"),
    ] {
        relabel.push(
            json!({"source_labels": [format!("__meta_kubernetes_{meta}")], "target_label": label}),
        );
    }
    relabel.push(json!({"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"}));
    let names = |field: &str| -> Vec<String> {
        spec[field]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    };
    for (field, meta) in [
        ("targetLabels", "service_label"),
        ("podTargetLabels", "pod_label"),
    ] {
        for l in names(field) {
            relabel.push(json!({
                "source_labels": [format!("__meta_kubernetes_{meta}_{}", sanitize(&l))],
                "target_label": sanitize(&l), "regex": "(.+)", "replacement": "${1}",
            }));
        }
    }
    relabel.push(json!({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"}));
    if let Some(job_label) = spec["jobLabel"].as_str() {
        relabel.push(json!({
            "source_labels": [format!("__meta_kubernetes_service_label_{}", sanitize(job_label))],
            "target_label": "job", "regex": "(.+)", "replacement": "${1}",
        }));
    }
    relabel.push(json!({"target_label": "endpoint", "replacement": port}));
    let interval = interval.unwrap_or_else(|| ep["interval"].as_str().unwrap_or("30s"));
    let timeout = ep["scrapeTimeout"].as_str().unwrap_or(interval);
    // Prometheus refuses a timeout longer than the interval (only when the test overrides it).
    let timeout = if duration(timeout) > duration(interval) {
        interval
    } else {
        timeout
    };
    json!({
        "job_name": format!("serviceMonitor/{namespace}/{}/{index}", sm["metadata"]["name"].as_str().unwrap()),
        "honor_labels": ep["honorLabels"].as_bool().unwrap_or(false),
        "scrape_interval": interval,
        "scrape_timeout": timeout,
        "metrics_path": ep["path"].as_str().unwrap_or("/metrics"),
        // Stands in for kubernetes_sd_configs (role endpoints, this namespace only).
        "file_sd_configs": [{"files": [file.display().to_string()]}],
        "relabel_configs": relabel,
    })
}

/// One pod: a real demo-app process on 127.0.0.1 standing for it.
struct Pod {
    namespace: String,
    hash: String,
    name: String,
    port: u16,
    _proc: Proc,
}

fn start_pod(bin: &Path, namespace: &str, hash: &str, index: usize, env: &[(&str, &str)]) -> Pod {
    let port = support::free_port();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("BIND_ADDR", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("VERSION", hash)
        .env("WORKER_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let proc = Proc(cmd.spawn().unwrap());
    support::until_blocking(
        &format!("demo-app on {port} to be ready"),
        Duration::from_secs(20),
        || get(port, "/ready") == Some(200),
    );
    Pod {
        namespace: namespace.into(),
        hash: hash.into(),
        name: format!("demo-app-{hash}-{index}"),
        port,
        _proc: proc,
    }
}

/// The endpoints Kubernetes SD (role `endpoints`) lists for `pod`: one per Service of the
/// namespace that selects it, each with the meta labels Prometheus documents for that role
/// (the pod's and the Service's labels included). The operator's relabelling keeps the ones
/// of the Service the ServiceMonitor selects.
fn endpoint_targets(cluster: &Cluster, pod: &Pod) -> Vec<Value> {
    let mut pod_labels = cluster.pod_labels.clone();
    // Argo Rollouts labels every pod it makes with its ReplicaSet's hash.
    pod_labels.insert("rollouts-pod-template-hash".into(), pod.hash.clone());
    cluster
        .services
        .iter()
        .filter(|s| {
            s["spec"]["selector"]
                .as_object()
                .into_iter()
                .flatten()
                .all(|(k, v)| pod_labels.get(k).map(String::as_str) == v.as_str())
        })
        .flat_map(|service| {
            let name = service["metadata"]["name"].as_str().unwrap();
            let service_labels: BTreeMap<String, String> =
                serde_json::from_value(service["metadata"]["labels"].clone()).unwrap_or_default();
            service["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let mut labels: BTreeMap<String, String> = BTreeMap::new();
                    let mut set = |k: String, v: &str| labels.insert(k, v.to_string());
                    set("__meta_kubernetes_namespace".into(), &pod.namespace);
                    set("__meta_kubernetes_endpoints_name".into(), name);
                    set("__meta_kubernetes_service_name".into(), name);
                    for (k, v) in &service_labels {
                        set(
                            format!("__meta_kubernetes_service_label_{}", sanitize(k)),
                            v,
                        );
                        set(
                            format!("__meta_kubernetes_service_labelpresent_{}", sanitize(k)),
                            "true",
                        );
                    }
                    set(
                        "__meta_kubernetes_endpoint_port_name".into(),
                        p["name"].as_str().unwrap_or(""),
                    );
                    set("__meta_kubernetes_endpoint_port_protocol".into(), "TCP");
                    set("__meta_kubernetes_endpoint_ready".into(), "true");
                    set(
                        "__meta_kubernetes_endpoint_address_target_kind".into(),
                        "Pod",
                    );
                    set(
                        "__meta_kubernetes_endpoint_address_target_name".into(),
                        &pod.name,
                    );
                    set("__meta_kubernetes_pod_name".into(), &pod.name);
                    set(
                        "__meta_kubernetes_pod_container_name".into(),
                        &cluster.container,
                    );
                    set("__meta_kubernetes_pod_container_port_name".into(), "http");
                    set("__meta_kubernetes_pod_phase".into(), "Running");
                    set("__meta_kubernetes_pod_ready".into(), "true");
                    for (k, v) in &pod_labels {
                        set(format!("__meta_kubernetes_pod_label_{}", sanitize(k)), v);
                        set(
                            format!("__meta_kubernetes_pod_labelpresent_{}", sanitize(k)),
                            "true",
                        );
                    }
                    json!({"targets": [format!("127.0.0.1:{}", pod.port)], "labels": labels})
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The kubelet's probes of one pod (/ready and /health at their periods divided by `speed`),
/// until dropped.
struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Kubelet {
    fn start(port: u16, (ready, live): (Duration, Duration), speed: u32) -> Kubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (ready, live) = (ready / speed, live / speed);
            let started = Instant::now();
            let (mut next_ready, mut next_live) = (started, started);
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now >= next_ready {
                    get(port, "/ready");
                    next_ready += ready;
                }
                if now >= next_live {
                    get(port, "/health");
                    next_live += live;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Kubelet {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// User traffic: `rate` paced GETs per second on /api/data of one pod, counted, until dropped.
struct Users {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Users {
    fn start(port: u16, rate: u32) -> Users {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let period = Duration::from_secs(1) / rate.max(1);
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                get(port, "/api/data");
                count.fetch_add(1, Ordering::Relaxed);
                next += period;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        });
        Users {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Debian's Prometheus with one operator-generated scrape job per namespace, each reading its
/// targets from a file (`offer` rewrites it, as Kubernetes SD would update its targets).
struct Prometheus {
    dir: tempfile::TempDir,
    port: u16,
    _proc: Proc,
}

impl Prometheus {
    /// `namespaces`: each with the cluster view whose ServiceMonitor makes its job.
    fn start(namespaces: &[(&str, &Cluster)], interval: Option<&str>) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let jobs: Vec<Value> = namespaces
            .iter()
            .map(|(ns, cluster)| {
                let file = dir.path().join(format!("targets-{ns}.json"));
                std::fs::write(&file, "[]").unwrap();
                operator_scrape_job(&cluster.service_monitor, ns, 0, interval, &file)
            })
            .collect();
        // JSON is YAML: the configuration is written as the JSON it was built as.
        let config = json!({"scrape_configs": jobs});
        std::fs::write(dir.path().join("prometheus.yml"), config.to_string()).unwrap();
        let port = support::free_port();
        let proc = Proc(
            Command::new("/usr/bin/prometheus")
                .arg(format!(
                    "--config.file={}",
                    dir.path().join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let p = Prometheus {
            dir,
            port,
            _proc: proc,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(port, "/-/ready") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The endpoints of `pods` are what discovery now lists in `namespace` (atomic rewrite).
    fn offer(&self, namespace: &str, cluster: &Cluster, pods: &[&Pod]) {
        let groups: Vec<Value> = pods
            .iter()
            .flat_map(|p| endpoint_targets(cluster, p))
            .collect();
        let file = self.dir.path().join(format!("targets-{namespace}.json"));
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, Value::Array(groups).to_string()).unwrap();
        std::fs::rename(tmp, file).unwrap();
    }

    /// An instant query through the HTTP API: the vector's values (what Argo Rollouts calls
    /// `result` for a vector: []float64).
    fn query(&self, promql: &str) -> Vec<f64> {
        self.query_series(promql)
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// The same, with each series' labels.
    fn query_series(&self, promql: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let encoded: String = promql
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = format!("query={encoded}");
        write!(s, "POST /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let json = text.split_once("\r\n\r\n").unwrap().1;
        // Prometheus answers with Content-Length, no chunking, for small bodies.
        let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(v["status"], "success", "{promql}: {v}");
        assert_eq!(v["data"]["resultType"], "vector", "{promql}");
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    serde_json::from_value(s["metric"].clone()).unwrap(),
                    s["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect()
    }

    /// Waits until every pod's target in `namespace` has been scraped `samples` times (at
    /// least), by the `up` series prometheus-operator's labels give it.
    /// How many times `pod` has been scraped (in the last 5 minutes: the whole test).
    fn scrapes(&self, pod: &Pod) -> usize {
        let q = format!(
            "count_over_time(up{{namespace=\"{}\",pod=\"{}\"}}[5m])",
            pod.namespace, pod.name
        );
        self.query(&q).first().copied().unwrap_or(0.0) as usize
    }

    /// Waits until each pod has been scraped `more` times after now.
    fn wait_more_scrapes(&self, pods: &[&Pod], more: usize, within: Duration) {
        let now: Vec<usize> = pods.iter().map(|p| self.scrapes(p)).collect();
        for (pod, n) in pods.iter().zip(now) {
            self.wait_scraped(&[pod], n + more, within);
        }
    }

    fn wait_scraped(&self, pods: &[&Pod], samples: usize, within: Duration) {
        let deadline = Instant::now() + within;
        for pod in pods {
            while self.scrapes(pod) < samples {
                assert!(
                    Instant::now() < deadline,
                    "{} not scraped {samples} times: {}",
                    pod.name,
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// `result[0] <op> <number>`, the form the templates use. Panics on any other form.
fn condition_holds(condition: &str, result: &[f64]) -> bool {
    let rest = condition
        .trim()
        .strip_prefix("result[0]")
        .unwrap_or_else(|| panic!("unsupported condition {condition:?}"));
    let rest = rest.trim_start();
    let (op, number) = ["<=", ">=", "==", "<", ">"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|n| (*op, n)))
        .unwrap_or_else(|| panic!("unsupported condition {condition:?}"));
    let number: f64 = number
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("unsupported condition {condition:?}"));
    // Argo Rollouts: result[0] on an empty vector is an evaluation error, never a pass.
    let x = *result
        .first()
        .unwrap_or_else(|| panic!("empty result: an Error measurement in Argo Rollouts"));
    match op {
        "<=" => x <= number,
        ">=" => x >= number,
        "==" => x == number,
        "<" => x < number,
        _ => x > number,
    }
}

/// A metric's query with the args substituted as Argo Rollouts does.
fn substituted(metric: &Value, namespace: &str, hash: &str) -> String {
    let q = metric["provider"]["prometheus"]["query"]
        .as_str()
        .unwrap()
        .replace("{{args.namespace}}", namespace)
        .replace("{{args.canary-hash}}", hash);
    assert!(!q.contains("{{"), "unsubstituted argument in {q}");
    q
}

/// The committed template of that name (manifests/demo-app/base).
fn template(name: &str) -> Value {
    let doc = base(&format!("analysistemplate-{name}.yaml")).remove(0);
    let args: Vec<&str> = doc["spec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(args, ["namespace", "canary-hash"]);
    doc
}

/// Runs each metric of a template once, now: (metric name, value, passed).
fn evaluate(
    prom: &Prometheus,
    template: &Value,
    namespace: &str,
    hash: &str,
) -> Vec<(String, f64, bool)> {
    template["spec"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let result = prom.query(&substituted(m, namespace, hash));
            let ok = condition_holds(m["successCondition"].as_str().unwrap(), &result);
            (m["name"].as_str().unwrap().to_string(), result[0], ok)
        })
        .collect()
}

fn passes(results: &[(String, f64, bool)]) -> bool {
    results.iter().all(|r| r.2)
}

fn failed(results: &[(String, f64, bool)], metric: &str) -> bool {
    results.iter().any(|r| r.0 == metric && !r.2)
}

fn value(results: &[(String, f64, bool)], metric: &str) -> f64 {
    results.iter().find(|r| r.0 == metric).unwrap().1
}

/// The demo app's Grafana dashboard panels' queries, `$namespace` set to one environment.
fn dashboard_queries(namespace: &str) -> Vec<(String, String)> {
    let path = support::root().join("manifests/dashboards/demo-app-dashboard.yaml");
    let cm = kindling::lint::input::parse_documents(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .remove(0);
    let dashboard: Value =
        serde_json::from_str(cm["data"]["demo-app.json"].as_str().unwrap()).unwrap();
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("").to_string();
            p["targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |t| {
                    (
                        title.clone(),
                        t["expr"].as_str().unwrap().replace("$namespace", namespace),
                    )
                })
        })
        .collect()
}

/// What the analysis queries and the dashboard measure comes from user requests only: probes
/// (the test is the kubelet) and Prometheus's own scrapes, which always answer 200 and arrive
/// at every pod whether anyone uses it or not, are not counted. With prometheus-operator's
/// `endpoint` target label they would be, whatever the app called its label, as long as the
/// queries filter on `endpoint`.
#[test]
fn analysis_templates_judge_the_canary_on_a_real_prometheus() {
    if !prometheus_installed() {
        return support::skip("Debian prometheus not installed").unwrap_or(());
    }
    let Some(bin) = demo_app_binary() else { return };
    let cluster = Cluster::base();
    // (namespace, hash, faults, user requests per second)
    let pods: Vec<(Pod, u32)> = [
        ("staging", "good", vec![], 40),
        ("staging", "errors", vec![("FAULT_ERROR_RATE", "0.5")], 40),
        ("staging", "slow", vec![("FAULT_LATENCY_MS", "800")], 10),
        // Same hash as "good" in another namespace, all errors: must not leak into staging.
        ("production", "good", vec![("FAULT_ERROR_RATE", "1.0")], 40),
        // The stable pods of staging, every user request failing: must not leak into the
        // canary's result, and its own error rate is exactly 100 %.
        ("staging", "stable", vec![("FAULT_ERROR_RATE", "1.0")], 40),
        // Deployed, probed, scraped, never called: "no traffic".
        ("staging", "idle", vec![], 0),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (ns, hash, env, rate))| (start_pod(&bin, ns, hash, i, &env), rate))
    .collect();
    // Scraped every second instead of every 15 s: the kubelet probes 15× as often too, so
    // probes and scrapes stand to user requests roughly as they do on a cluster.
    let speed = 15;
    let rollout = base("rollout.yaml").remove(0);
    let periods = Cluster::probe_periods(&rollout);
    let prom = Prometheus::start(
        &[("staging", &cluster), ("production", &cluster)],
        Some("1s"),
    );
    for ns in ["staging", "production"] {
        let here: Vec<&Pod> = pods
            .iter()
            .map(|p| &p.0)
            .filter(|p| p.namespace == ns)
            .collect();
        prom.offer(ns, &cluster, &here);
    }
    let all: Vec<&Pod> = pods.iter().map(|p| &p.0).collect();
    // One sample of every pod before any request: the rate windows then hold every request.
    prom.wait_scraped(&all, 1, Duration::from_secs(60));
    let kubelets: Vec<Kubelet> = all
        .iter()
        .map(|p| Kubelet::start(p.port, periods, speed))
        .collect();
    let users: Vec<Users> = pods
        .iter()
        .filter(|(_, rate)| *rate > 0)
        .map(|(p, rate)| Users::start(p.port, *rate))
        .collect();
    // Traffic for 12 scrapes of every pod (12 s at one a second): enough for the rate windows.
    prom.wait_more_scrapes(&all, 12, Duration::from_secs(120));
    let sent: u64 = users.into_iter().map(Users::stop).sum();
    assert!(sent > 500, "only {sent} user requests were sent");
    drop(kubelets);
    // Two more scrapes of every pod: the last requests are in.
    prom.wait_more_scrapes(&all, 2, Duration::from_secs(60));

    let success_rate = template("success-rate");
    let error_rate_only = template("error-rate-only");
    for t in [&success_rate, &error_rate_only] {
        let name = t["metadata"]["name"].as_str().unwrap();
        let good = evaluate(&prom, t, "staging", "good");
        assert!(
            passes(&good),
            "{name}: healthy canary passes despite bad stable pods and a bad namesake in production: {good:?}"
        );
        let errors = evaluate(&prom, t, "staging", "errors");
        assert!(
            failed(&errors, "error-rate"),
            "{name}: FAULT_ERROR_RATE=0.5 fails: {errors:?}"
        );
        let idle = evaluate(&prom, t, "staging", "idle");
        assert!(
            passes(&idle),
            "{name}: no traffic is measured as healthy: {idle:?}"
        );
        let other_ns = evaluate(&prom, t, "production", "good");
        assert!(
            !passes(&other_ns),
            "{name}: production's pods are judged on their own errors: {other_ns:?}"
        );
        // Every user request of "stable" fails: the error rate is exactly 1, not diluted by
        // the probes' and scrapes' 200s. The measured rate is the users' error share times
        // the users' share of all counted requests, so a dilution to x means a release
        // failing 1.1 % measures 1.1 % × x.
        let stable = value(&evaluate(&prom, t, "staging", "stable"), "error-rate");
        assert!(
            0.011 * stable >= 0.01,
            "{name}: a release failing 100 % of user requests measures {:.1} % (probe and scrape \
             requests counted), so one failing 1.1 % would measure {:.2} % and pass the 1 % gate",
            stable * 100.0,
            1.1 * stable
        );
        assert_eq!(stable, 1.0, "{name}: exactly every user request failed");
    }
    let stable = evaluate(&prom, &success_rate, "staging", "stable");
    assert_eq!(value(&stable, "success-rate"), 0.0, "{stable:?}");
    // "No traffic" is the fallback branch of each query, not probe requests measured.
    let idle = evaluate(&prom, &success_rate, "staging", "idle");
    assert_eq!(
        value(&idle, "p95-latency"),
        0.0,
        "the idle canary's latency is its probes' unless they are excluded: {idle:?}"
    );
    let traffic = template("user-traffic");
    let idle = evaluate(&prom, &traffic, "staging", "idle");
    assert!(
        !passes(&idle),
        "probes and scrapes are not user traffic: {idle:?}"
    );
    let good = evaluate(&prom, &traffic, "staging", "good");
    assert!(passes(&good), "{good:?}");

    let errors = evaluate(&prom, &success_rate, "staging", "errors");
    assert!(failed(&errors, "success-rate"), "{errors:?}");
    let slow = evaluate(&prom, &success_rate, "staging", "slow");
    assert!(
        failed(&slow, "p95-latency"),
        "FAULT_LATENCY_MS=800 fails p95: {slow:?}"
    );
    assert!(
        !failed(&slow, "error-rate"),
        "slow is not erroring: {slow:?}"
    );
    let p95 = value(&slow, "p95-latency");
    assert!(
        p95 > 0.5 && p95 <= 1.0,
        "p95 of 800 ms requests lies in the (0.5, 1] bucket: {p95}"
    );
    let good = evaluate(&prom, &success_rate, "staging", "good");
    let p95 = value(&good, "p95-latency");
    assert!(
        p95 > 0.0 && p95 < 0.5,
        "healthy p95 measured, not the no-traffic 0: {p95}"
    );
    assert_eq!(
        value(&good, "success-rate"),
        1.0,
        "measured success rate of the healthy canary"
    );

    // The dashboard's panels, per version: user requests only.
    for (title, expr) in dashboard_queries("staging") {
        let series = prom.query_series(&expr);
        let of = |hash: &str| {
            series
                .iter()
                .find(|(l, _)| {
                    l.get("rollouts_pod_template_hash").map(String::as_str) == Some(hash)
                })
                .map(|(_, v)| *v)
        };
        assert!(
            series.iter().all(|(l, _)| l["namespace"] == "staging"),
            "{title}: {series:?}"
        );
        if title.contains("Request rate") {
            assert_eq!(
                of("idle"),
                Some(0.0),
                "{title}: the idle version serves no one: {series:?}"
            );
            assert!(of("good").is_some_and(|r| r > 1.0), "{title}: {series:?}");
        } else if title.contains("5xx") || title.contains("rror") {
            assert_eq!(
                of("stable"),
                Some(1.0),
                "{title}: every user request of stable failed: {series:?}"
            );
            assert_eq!(of("good"), Some(0.0), "{title}: {series:?}");
        } else {
            // p95 latency: the idle version has no requests to measure.
            assert!(of("idle").is_none_or(f64::is_nan), "{title}: {series:?}");
            assert!(of("slow").is_some_and(|p| p > 0.5), "{title}: {series:?}");
        }
    }

    // prometheus-operator's target labels, and each pod scraped once (through
    // demo-app-metrics only, not through the two traffic Services that select it too).
    let up = prom.query_series("up");
    assert_eq!(up.len(), all.len(), "one target per pod: {up:?}");
    for (labels, _) in &up {
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "__name__",
                "container",
                "endpoint",
                "instance",
                "job",
                "namespace",
                "pod",
                "rollouts_pod_template_hash",
                "service"
            ],
            "{labels:?}"
        );
        assert_eq!(labels["job"], "demo-app-metrics");
        assert_eq!(labels["service"], "demo-app-metrics");
        assert_eq!(labels["endpoint"], "http");
        assert_eq!(labels["container"], "demo-app");
    }
    // The app's own label survives as it is: no `exported_` rename.
    let exported =
        prom.query("count({__name__=~\"http_.+\",exported_endpoint=~\".+\"}) or vector(0)");
    assert_eq!(exported, [0.0], "an app label collides with a target label");
}

#[test]
fn condition_parser_understands_only_the_simple_form() {
    assert!(condition_holds("result[0] >= 0.99", &[0.995]));
    assert!(!condition_holds("result[0] >= 0.99", &[0.5]));
    assert!(condition_holds("result[0] < 0.5", &[0.1]));
    assert!(
        !condition_holds("result[0] < 0.5", &[f64::NAN]),
        "NaN fails, as in Argo Rollouts"
    );
    assert!(std::panic::catch_unwind(|| condition_holds("len(result) == 0", &[1.0])).is_err());
    assert!(std::panic::catch_unwind(|| condition_holds("result[0] < 1", &[])).is_err());
}

/// One measurement as Argo Rollouts records it, and how many samples of the measured pods
/// Prometheus had in the rate window then (rate() needs two).
#[derive(Debug)]
struct Measurement {
    metric: String,
    at: Duration,
    value: Option<f64>,
    phase: &'static str,
    samples: f64,
}

#[derive(Debug)]
struct Run {
    phase: &'static str,
    message: String,
    measurements: Vec<Measurement>,
}

/// An AnalysisRun of `templates` (their metrics merged into one run, as Argo Rollouts does)
/// for the pods of `hash` in `namespace`, started at `started`, measured as Argo Rollouts
/// v1.9.1 measures (analysis/analysis.go): each metric's first measurement once its
/// `initialDelay` has passed (at once without one), the next `interval` after the previous
/// finished, an empty result an Error (the metric errs after more than 4 in a row, the default
/// consecutiveErrorLimit), a metric Failed as soon as failed > failureLimit and Successful
/// after `count` measurements; the run Failed (or Error) as soon as one metric is, the other
/// metrics then stop.
fn analysis_run(
    prom: &Prometheus,
    templates: &[&Value],
    namespace: &str,
    hash: &str,
    started: Instant,
) -> Run {
    struct State<'a> {
        metric: &'a Value,
        taken: u32,
        failed: i64,
        consecutive_errors: i64,
        last: Option<Instant>,
        phase: Option<&'static str>,
    }
    let mut states: Vec<State> = templates
        .iter()
        .flat_map(|t| t["spec"]["metrics"].as_array().unwrap())
        .map(|metric| State {
            metric,
            taken: 0,
            failed: 0,
            consecutive_errors: 0,
            last: None,
            phase: None,
        })
        .collect();
    let mut measurements = Vec::new();
    let samples = format!(
        "min(count_over_time(up{{namespace=\"{namespace}\",rollouts_pod_template_hash=\"{hash}\"}}[1m])) or vector(0)"
    );
    loop {
        for s in states.iter_mut().filter(|s| s.phase.is_none()) {
            let m = s.metric;
            let due = match s.last {
                None => started + m["initialDelay"].as_str().map_or(Duration::ZERO, duration),
                Some(last) => last + m["interval"].as_str().map_or(Duration::ZERO, duration),
            };
            if Instant::now() < due {
                continue;
            }
            let seen = prom.query(&samples)[0];
            let result = prom.query(&substituted(m, namespace, hash));
            let phase = match result.first() {
                None => "Error",
                Some(_) if condition_holds(m["successCondition"].as_str().unwrap(), &result) => {
                    "Successful"
                }
                Some(_) => "Failed",
            };
            s.last = Some(Instant::now());
            s.taken += 1;
            match phase {
                "Error" => s.consecutive_errors += 1,
                "Failed" => {
                    s.failed += 1;
                    s.consecutive_errors = 0;
                }
                _ => s.consecutive_errors = 0,
            }
            measurements.push(Measurement {
                metric: m["name"].as_str().unwrap().to_string(),
                at: started.elapsed(),
                value: result.first().copied(),
                phase,
                samples: seen,
            });
            let limit = m["failureLimit"].as_i64().unwrap_or(0);
            let count = m["count"].as_u64().expect("count is always set") as u32;
            if s.failed > limit {
                s.phase = Some("Failed");
            } else if s.consecutive_errors > 4 {
                s.phase = Some("Error");
            } else if s.taken >= count {
                s.phase = Some("Successful");
            }
        }
        if let Some(s) = states
            .iter()
            .find(|s| matches!(s.phase, Some("Failed" | "Error")))
        {
            return Run {
                phase: s.phase.unwrap(),
                message: format!(
                    "metric {} assessed {}: failed ({}) > failureLimit ({})",
                    s.metric["name"].as_str().unwrap(),
                    s.phase.unwrap(),
                    s.failed,
                    s.metric["failureLimit"]
                ),
                measurements,
            };
        }
        if states.iter().all(|s| s.phase.is_some()) {
            return Run {
                phase: "Successful",
                message: String::new(),
                measurements,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first analysis of the staging canary and production's pre-promotion analysis, on a
/// real Prometheus with the fast profile's own timing (the rendered ServiceMonitor's 5 s
/// scrape, the rendered templates' initialDelay, interval, count and failureLimit — nothing
/// shortened for the test), each run started the moment its pods are ready (sooner than on a
/// cluster: the canary pauses first). A canary failing half its requests fails the first gate
/// with every measurement failed; a preview failing half the requests sent to its host fails
/// pre-promotion; one nobody called fails it too. The healthy ones pass, and every
/// measurement of every run saw at least two samples of the pods it judged.
#[test]
fn a_broken_canary_fails_the_first_gate_and_a_broken_preview_fails_pre_promotion() {
    if !prometheus_installed() {
        return support::skip("Debian prometheus not installed").unwrap_or(());
    }
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let Some(bin) = demo_app_binary() else { return };
    let config = kindling::config::Config::builtin();
    let staging = support::environments::environment(&kustomize, &config, Profile::Fast, "staging");
    let production =
        support::environments::environment(&kustomize, &config, Profile::Fast, "production");
    let (staging_cluster, production_cluster) = (
        Cluster::from_objects(&staging),
        Cluster::from_objects(&production),
    );
    let templates = |objects: &[Value], analysis: &Value| -> Vec<Value> {
        analysis["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                find(
                    objects,
                    "AnalysisTemplate",
                    t["templateName"].as_str().unwrap(),
                )
                .clone()
            })
            .collect()
    };
    let canary_rollout = find(&staging, "Rollout", "demo-app");
    let first_gate = canary_rollout["spec"]["strategy"]["canary"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s.get("analysis"))
        .expect("the canary has an analysis step");
    let first_gate = templates(&staging, first_gate);
    let bg = &find(&production, "Rollout", "demo-app")["spec"]["strategy"]["blueGreen"];
    let pre_promotion = templates(&production, &bg["prePromotionAnalysis"]);
    let periods = Cluster::probe_periods(canary_rollout);

    let prom = Prometheus::start(
        &[
            ("staging", &staging_cluster),
            ("production", &production_cluster),
        ],
        None,
    );
    let stable = start_pod(&bin, "staging", "stable", 0, &[]);
    let active = start_pod(&bin, "production", "active", 1, &[]);
    prom.offer("staging", &staging_cluster, &[&stable]);
    prom.offer("production", &production_cluster, &[&active]);
    prom.wait_scraped(&[&stable, &active], 1, Duration::from_secs(60));

    let half = [("FAULT_ERROR_RATE", "0.5")];
    let broken = start_pod(&bin, "staging", "broken", 2, &half);
    let good = start_pod(&bin, "staging", "good", 3, &[]);
    let broken_preview = start_pod(&bin, "production", "broken-preview", 4, &half);
    let good_preview = start_pod(&bin, "production", "good-preview", 5, &[]);
    let quiet_preview = start_pod(&bin, "production", "quiet-preview", 6, &[]);
    let all = [
        &stable,
        &active,
        &broken,
        &good,
        &broken_preview,
        &good_preview,
        &quiet_preview,
    ];
    let _kubelets: Vec<Kubelet> = all
        .iter()
        .map(|p| Kubelet::start(p.port, periods, 1))
        .collect();
    // The new pods are ready: discovery lists them, users reach them (a 20 % canary of the
    // scenario's 20 requests per second; the scenario's traffic to the preview host, except
    // for the preview nobody calls), and the analyses start.
    prom.offer("staging", &staging_cluster, &[&stable, &broken, &good]);
    prom.offer(
        "production",
        &production_cluster,
        &[&active, &broken_preview, &good_preview, &quiet_preview],
    );
    let started = Instant::now();
    let _users = [
        Users::start(stable.port, 16),
        Users::start(active.port, 10),
        Users::start(broken.port, 4),
        Users::start(good.port, 4),
        Users::start(broken_preview.port, 10),
        Users::start(good_preview.port, 10),
    ];
    let first: Vec<&Value> = first_gate.iter().collect();
    let pre: Vec<&Value> = pre_promotion.iter().collect();
    let jobs = [
        ("broken canary", &first, "staging", "broken"),
        ("good canary", &first, "staging", "good"),
        ("broken preview", &pre, "production", "broken-preview"),
        ("good preview", &pre, "production", "good-preview"),
        ("quiet preview", &pre, "production", "quiet-preview"),
    ];
    let runs: Vec<(&str, Run)> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(name, templates, ns, hash)| {
                let prom = &prom;
                (
                    *name,
                    scope.spawn(move || analysis_run(prom, templates, ns, hash, started)),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| (name, h.join().unwrap()))
            .collect()
    });
    let run = |name: &str| &runs.iter().find(|(n, _)| *n == name).unwrap().1;

    let broken = run("broken canary");
    assert_eq!(
        broken.phase, "Failed",
        "a canary failing half its requests passed the first gate: {broken:#?}"
    );
    assert!(
        broken.measurements.iter().all(|m| m.phase == "Failed"),
        "no measurement of the broken canary passed for want of data: {broken:#?}"
    );
    assert!(
        broken.measurements[0].value.is_some_and(|v| v >= 0.05),
        "the first measurement already sees the canary's errors: {broken:#?}"
    );
    let broken = run("broken preview");
    assert_eq!(
        broken.phase, "Failed",
        "a broken preview passed pre-promotion: {broken:#?}"
    );
    let quiet = run("quiet preview");
    assert_eq!(
        quiet.phase, "Failed",
        "a preview nobody called passed pre-promotion: {quiet:#?}"
    );
    assert!(quiet.message.contains("user-requests"), "{}", quiet.message);
    for name in ["good canary", "good preview"] {
        let good = run(name);
        assert_eq!(good.phase, "Successful", "{name}: {good:#?}");
    }
    for (name, r) in &runs {
        for m in &r.measurements {
            assert!(
                m.samples >= 2.0,
                "{name}: {} measured at {:?} with {} sample(s) of its pods: {r:#?}",
                m.metric,
                m.at,
                m.samples
            );
        }
    }
}
