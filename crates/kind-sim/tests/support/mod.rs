//! A simulated kind cluster with Argo CD whose Applications render whatever the test puts in
//! a shared map (app name → objects).
#![allow(dead_code)]

use fake_apiserver::FakeApiServer;
use kind_sim::{Rendered, Sim};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub type Sources = Arc<Mutex<HashMap<String, Vec<Value>>>>;

pub struct Cluster {
    pub api: FakeApiServer,
    pub sim: Sim,
    pub sources: Sources,
    revisions: std::sync::atomic::AtomicUsize,
}

/// None (and a note) when the shared upstream folder is missing; a panic under CI=true.
pub fn shared() -> Option<PathBuf> {
    let dir = kind_sim::health::shared_dir();
    if dir.join("upstream").is_dir() {
        return Some(dir);
    }
    let reason = format!("{} not found (set KINDLING_SHARED_DIR)", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("required under CI=true: {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

pub async fn cluster(options: kind_sim::Options) -> Option<Cluster> {
    shared()?;
    let api = FakeApiServer::start().await;
    let sources: Sources = Arc::default();
    let s = sources.clone();
    let source = move |app: &Value, _: &[String]| -> Result<Rendered, String> {
        let name = app["metadata"]["name"].as_str().unwrap_or("");
        let objects = s
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no source for {name}"))?;
        Ok(Rendered {
            revision: app["spec"]["source"]["targetRevision"]
                .as_str()
                .unwrap_or("")
                .into(),
            objects,
        })
    };
    let sim = Sim::start(&api, Arc::new(source), options).unwrap();
    Some(Cluster {
        api,
        sim,
        sources,
        revisions: Default::default(),
    })
}

pub async fn default_cluster() -> Option<Cluster> {
    cluster(kind_sim::Options::default()).await
}

/// An automated Application with prune, selfHeal and CreateNamespace, plus `sync_options`.
pub fn application(name: &str, namespace: &str, sync_options: &[&str], retry: Value) -> Value {
    let mut options = vec!["CreateNamespace=true"];
    options.extend_from_slice(sync_options);
    let mut app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default",
                 "source": {"repoURL": "https://charts.example.test", "chart": name, "targetRevision": "1.0.0"},
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                 "syncPolicy": {"automated": {"prune": true, "selfHeal": true}, "syncOptions": options}}});
    if !retry.is_null() {
        app["spec"]["syncPolicy"]["retry"] = retry;
    }
    app
}

impl Cluster {
    /// Sets what `app` renders and creates (or updates) the Application, at a new revision
    /// (as a new chart version would be: Argo CD renders again only when the source changes).
    pub fn deploy(&self, mut app: Value, objects: Vec<Value>) {
        let name = app["metadata"]["name"].as_str().unwrap().to_string();
        let revision = {
            let mut sources = self.sources.lock().unwrap();
            sources.insert(name.clone(), objects);
            let n = sources.keys().len()
                + self
                    .revisions
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            format!("1.0.{n}")
        };
        app["spec"]["source"]["targetRevision"] = json!(revision);
        self.api.apply(app).unwrap();
    }

    /// (health, sync, operation phase, operation message) once the cluster settled.
    pub async fn settled(&self, app: &str) -> (String, String, String, String) {
        self.sim.settled().await;
        self.state(app)
    }

    pub fn state(&self, app: &str) -> (String, String, String, String) {
        let a = self
            .sim
            .argocd
            .application(app)
            .expect("the Application exists");
        let s = &a["status"];
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        (
            text(&s["health"]["status"]),
            text(&s["sync"]["status"]),
            text(&s["operationState"]["phase"]),
            text(&s["operationState"]["message"]),
        )
    }

    /// The health Argo CD gives one managed resource (its resource tree).
    pub fn resource_health(&self, app: &str, kind: &str, name: &str) -> Option<kind_sim::Health> {
        self.sim
            .argocd
            .resource_tree(app)
            .into_iter()
            .find(|n| n.kind == kind && n.name == name)
            .and_then(|n| n.health)
    }

    pub fn pods(&self, ns: &str) -> Vec<Value> {
        self.api.list("v1", "Pod", Some(ns))
    }
}

pub fn deployment(name: &str, image: &str, pod_spec_extra: Value) -> Value {
    let mut spec = json!({"containers": [{"name": name, "image": image}]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), pod_spec_extra.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}})
}

pub fn service(name: &str, type_: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"type": type_, "selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}})
}

/// Every document of an upstream YAML file under the shared folder.
pub fn upstream(path: &str) -> Vec<Value> {
    let file = kind_sim::health::shared_dir().join("upstream").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    kind_sim::yaml::parse_stream(&text).unwrap()
}

/// The waiting reason of the first container of the first pod in `ns` whose name starts with `prefix`.
pub fn waiting(cluster: &Cluster, ns: &str, prefix: &str) -> Option<(String, String)> {
    let pod = cluster.pods(ns).into_iter().find(|p| {
        p["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .starts_with(prefix)
    })?;
    let w = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
    Some((
        w["reason"].as_str()?.to_string(),
        w["message"].as_str().unwrap_or("").to_string(),
    ))
}
