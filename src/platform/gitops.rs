//! The GitOps source: `manifests/` (compiled into the binary, so kindling works anywhere)
//! staged with one generated kustomize layer per environment, published as an OCI artifact
//! to the local registry, and the Argo CD objects that sync it. See manifests/README.md.

use crate::config::{Config, Provider};
use include_dir::{Dir, include_dir};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

static MANIFESTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/manifests");

/// The artifact's repository in the local registry.
pub const ARTIFACT_REPO: &str = "kindling-manifests";

/// An environment of the demo app: name, namespace, its host prefix, and the host prefix of
/// its preview (blue-green only: the Ingress `demo-app-preview` to the preview Service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Environment {
    pub name: &'static str,
    pub namespace: &'static str,
    pub host_prefix: &'static str,
    pub preview_host_prefix: Option<&'static str>,
}

pub const ENVIRONMENTS: [Environment; 3] = [
    Environment {
        name: "dev",
        namespace: "default",
        host_prefix: "demo",
        preview_host_prefix: None,
    },
    Environment {
        name: "staging",
        namespace: "staging",
        host_prefix: "staging-demo",
        preview_host_prefix: None,
    },
    Environment {
        name: "production",
        namespace: "production",
        host_prefix: "prod-demo",
        preview_host_prefix: Some("prod-demo-preview"),
    },
];

/// The image name the base Rollout uses as a placeholder.
const IMAGE_PLACEHOLDER: &str = "localhost:5001/demo-app";

/// The demo image as the cluster's nodes pull it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoImage {
    /// e.g. `localhost:5001/demo-app` (kind nodes map it to the local registry).
    pub repository: String,
    /// A tag, or a digest `sha256:...`.
    pub tag: String,
}

impl DemoImage {
    /// The image reference as a pod template carries it: `repository@sha256:...` for a
    /// digest, `repository:tag` for a tag.
    pub fn reference(&self) -> String {
        let separator = if self.tag.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        format!("{}{separator}{}", self.repository, self.tag)
    }

    /// The demo image of a release, where this configuration's cluster pulls from.
    pub fn for_release(config: &Config, tag: &str) -> DemoImage {
        let registry = cluster_registry(config).unwrap_or_else(|| config.registry_host());
        DemoImage {
            repository: format!("{registry}/demo-app"),
            tag: tag.to_string(),
        }
    }
}

/// How long the demo's pauses and analysis intervals are (manifests/README.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The committed values: 1m canary pauses, 20–30 s analysis intervals, a 15 s scrape and
    /// 40 s before each analysis's first measurement.
    #[default]
    Realistic,
    /// Pauses and analysis intervals of 10 s, a 5 s scrape and 20 s before the first
    /// measurement, so a whole smoke run takes minutes.
    Fast,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Realistic => "realistic",
            Profile::Fast => "fast",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "realistic" => Ok(Profile::Realistic),
            "fast" => Ok(Profile::Fast),
            other => Err(format!(
                "unknown timing profile {other:?}: use \"fast\" or \"realistic\""
            )),
        }
    }
}

/// The fast profile's pauses and analysis intervals.
const FAST_DURATION: &str = "10s";

/// The fast profile's scrape of the demo pods (the ServiceMonitor's interval and timeout;
/// committed: 15 s / 10 s) and the wait before each metric's first measurement. Every
/// measurement must see data: rate() needs two samples of the new pods, which exist at most
/// two scrape intervals plus discovery after the pods are ready (Prometheus applies new
/// targets at most every 5 s in its discovery manager and again in its scrape manager), so
/// initialDelay >= 2 x interval + 10 s: 40 s committed, 20 s here. tests/manifests_gates.rs
/// checks the rule on every rendered environment of both profiles.
const FAST_SCRAPE_INTERVAL: &str = "5s";
const FAST_SCRAPE_TIMEOUT: &str = "4s";
const FAST_INITIAL_DELAY: &str = "20s";

/// The committed AnalysisTemplates (manifests/demo-app/base) and how many metrics each has,
/// so the fast profile patches every metric of every template.
fn analysis_templates() -> Vec<(String, usize)> {
    let base = MANIFESTS
        .get_dir("demo-app/base")
        .expect("manifests/demo-app/base is compiled in");
    let mut templates: Vec<(String, usize)> = base
        .files()
        .filter_map(|f| {
            let doc: Value = serde_saphyr::from_str(f.contents_utf8()?).ok()?;
            (doc["kind"] == "AnalysisTemplate").then(|| {
                (
                    doc["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    doc["spec"]["metrics"].as_array().map_or(0, Vec::len),
                )
            })
        })
        .collect();
    templates.sort();
    templates
}

/// What one environment runs: the demo version, its image, and the timing profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRelease {
    pub version: String,
    pub image: DemoImage,
    pub profile: Profile,
}

/// `demo-app/generated/<env>/kustomization.yaml`: the image, the host when the domain is not
/// the committed `localhost`, the preview host (always: the committed one is a placeholder), the
/// ingress class and issuer when not kindling's own, and the fast profile's timings. Exactly
/// what manifests/README.md says.
pub fn generated_layer(
    env: &Environment,
    config: &Config,
    image: &DemoImage,
    profile: Profile,
) -> String {
    let image_line = if image.tag.starts_with("sha256:") {
        format!("    digest: {}\n", image.tag)
    } else {
        format!("    newTag: \"{}\"\n", image.tag)
    };
    let mut text = format!(
        "# Generated by kindling: the {env} environment with this platform's image, domain and timing.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n  - ../../overlays/{env}\n\
         images:\n  - name: {IMAGE_PLACEHOLDER}\n    newName: {repo}\n{image_line}",
        env = env.name,
        repo = image.repository,
    );
    let mut patches = Vec::new();
    let domain = &config.network.domain;
    if domain != "localhost" {
        let host = format!("{}.{domain}", env.host_prefix);
        patches.push(json_patch(
            "kind: Ingress, name: demo-app",
            &[
                ("/spec/rules/0/host", &host),
                ("/spec/tls/0/hosts/0", &host),
            ],
        ));
    }
    if let Some(prefix) = env.preview_host_prefix {
        let host = format!("{prefix}.{domain}");
        patches.push(json_patch(
            "kind: Ingress, name: demo-app-preview",
            &[
                ("/spec/rules/0/host", &host),
                ("/spec/tls/0/hosts/0", &host),
            ],
        ));
    }
    // The committed Ingress says class `traefik` and issuer `kindling-ca` (base/ingress.yaml).
    let class = super::applications::ingress_class(config);
    let issuer = super::applications::cluster_issuer(config);
    let mut ingress = Vec::new();
    if class != super::applications::INGRESS_CLASS {
        ingress.push(("/spec/ingressClassName", class));
    }
    if issuer != super::applications::CLUSTER_ISSUER {
        // JSON pointer: '/' in the annotation's name is written ~1 (RFC 6901).
        ingress.push((
            "/metadata/annotations/cert-manager.io~1cluster-issuer",
            issuer,
        ));
    }
    if !ingress.is_empty() {
        patches.push(json_patch("kind: Ingress, name: demo-app", &ingress));
        if env.preview_host_prefix.is_some() {
            patches.push(json_patch(
                "kind: Ingress, name: demo-app-preview",
                &ingress,
            ));
        }
    }
    if profile == Profile::Fast {
        if env.name == "staging" {
            let pauses: Vec<String> = [1, 4, 7]
                .iter()
                .map(|i| format!("/spec/strategy/canary/steps/{i}/pause/duration"))
                .collect();
            let ops: Vec<(&str, &str)> =
                pauses.iter().map(|p| (p.as_str(), FAST_DURATION)).collect();
            patches.push(json_patch("kind: Rollout, name: demo-app", &ops));
        }
        patches.push(json_patch(
            "kind: ServiceMonitor, name: demo-app",
            &[
                ("/spec/endpoints/0/interval", FAST_SCRAPE_INTERVAL),
                ("/spec/endpoints/0/scrapeTimeout", FAST_SCRAPE_TIMEOUT),
            ],
        ));
        for (template, metrics) in analysis_templates() {
            let paths: Vec<(String, &str)> = (0..metrics)
                .flat_map(|i| {
                    [
                        (format!("/spec/metrics/{i}/interval"), FAST_DURATION),
                        (
                            format!("/spec/metrics/{i}/initialDelay"),
                            FAST_INITIAL_DELAY,
                        ),
                    ]
                })
                .collect();
            let ops: Vec<(&str, &str)> = paths.iter().map(|(p, v)| (p.as_str(), *v)).collect();
            patches.push(json_patch(
                &format!("kind: AnalysisTemplate, name: {template}"),
                &ops,
            ));
        }
    }
    if !patches.is_empty() {
        text.push_str("patches:\n");
        for p in patches {
            text.push_str(&p);
        }
    }
    text
}

/// One JSON 6902 patch entry of a kustomization: `replace` operations on one target.
fn json_patch(target: &str, ops: &[(&str, &str)]) -> String {
    let mut text = format!("  - target: {{{target}}}\n    patch: |\n");
    for (path, value) in ops {
        text.push_str(&format!(
            "      - {{op: replace, path: {path}, value: {value}}}\n"
        ));
    }
    text
}

/// Writes the manifests and one generated layer per environment into `dir` (the artifact's
/// root). `releases` says what each environment runs (every environment must be there).
pub fn stage(
    dir: &Path,
    config: &Config,
    releases: &BTreeMap<String, EnvRelease>,
) -> std::io::Result<()> {
    MANIFESTS.extract(dir)?;
    for env in &ENVIRONMENTS {
        let release = releases.get(env.name).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("no release given for the {} environment", env.name),
            )
        })?;
        let layer = dir.join("demo-app/generated").join(env.name);
        std::fs::create_dir_all(&layer)?;
        std::fs::write(
            layer.join("kustomization.yaml"),
            generated_layer(env, config, &release.image, release.profile),
        )?;
    }
    Ok(())
}

/// The Grafana dashboards (`manifests/dashboards/`): ConfigMaps in `monitoring` labelled for
/// Grafana's dashboard sidecar, applied by the platform step (the demo AppProject may only touch
/// the demo namespaces, so they are not part of the demo Applications).
pub fn dashboards() -> Vec<Value> {
    let mut files: Vec<_> = MANIFESTS
        .get_dir("dashboards")
        .expect("manifests/dashboards is compiled in")
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort_by_key(|f| f.path());
    files
        .iter()
        .map(|f| {
            let text = f.contents_utf8().expect("manifests are UTF-8");
            serde_saphyr::from_str(text).expect("manifests/dashboards files are valid YAML")
        })
        .collect()
}

/// Every environment running the same release (what the first `up` publishes).
pub fn same_everywhere(release: &EnvRelease) -> BTreeMap<String, EnvRelease> {
    ENVIRONMENTS
        .iter()
        .map(|e| (e.name.to_string(), release.clone()))
        .collect()
}

/// The environment of that name.
pub fn environment(name: &str) -> Option<&'static Environment> {
    ENVIRONMENTS.iter().find(|e| e.name == name)
}

/// On an existing cluster, the registry (and path) its nodes and Argo CD pull from:
/// `registry.cluster_host`, else `registry.push_host`. None: the local registry (kind wires it
/// into the nodes; an existing cluster must reach it by itself).
pub fn cluster_registry(config: &Config) -> Option<String> {
    let registry = &config.registry;
    match config.cluster.provider {
        Provider::Existing if !registry.cluster_host.is_empty() => {
            Some(registry.cluster_host.clone())
        }
        Provider::Existing if !registry.push_host.is_empty() => Some(registry.push_host.clone()),
        _ => None,
    }
}

/// Whether the cluster reads the artifact over plain HTTP: the local registry always; a
/// registry of the user's only with `registry.plain_http`.
pub fn plain_http(config: &Config) -> bool {
    config.registry.push_host.is_empty()
        || config.cluster.provider != Provider::Existing
        || config.registry.plain_http
}

/// The Applications' `repoURL`: the artifact as the cluster reaches the registry.
pub fn repo_url(config: &Config) -> String {
    let host = cluster_registry(config).unwrap_or_else(|| format!("{}:5000", config.registry.name));
    format!("oci://{host}/{ARTIFACT_REPO}")
}

/// The repository Secret's login keys (Argo CD's `username` / `password`, read by
/// util/db/repository_secrets.go `secretToRepository` in argo-cd v3.5.1): the same login
/// kindling pushed with, so Argo CD can read a registry that asks for one.
pub fn with_repository_login(objects: &mut [Value], username: &str, password: &str) {
    for object in objects.iter_mut().filter(|o| {
        o["kind"] == "Secret"
            && o["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    }) {
        object["stringData"]["username"] = username.into();
        object["stringData"]["password"] = password.into();
    }
}

/// The AppProject, the three Applications (placeholders filled) and the repository Secret that
/// declares the plain-HTTP registry. `revision` is the artifact's tag or digest.
pub fn argocd_objects(config: &Config, revision: &str) -> Vec<Value> {
    let repo = repo_url(config);
    let mut objects: Vec<Value> = MANIFESTS
        .get_dir("argocd")
        .expect("manifests/argocd is compiled in")
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "yaml"))
        .map(|f| {
            let text = f
                .contents_utf8()
                .expect("manifests are UTF-8")
                .replace("${MANIFESTS_REPO}", &repo)
                .replace("${MANIFESTS_REVISION}", revision);
            serde_saphyr::from_str(&text).expect("manifests/argocd files are valid YAML")
        })
        .collect();
    let mut string_data = json!({ "type": "oci", "url": repo });
    if plain_http(config) {
        // insecureOCIForceHttp alone: adding insecure: "true" makes Argo CD 3.5 drop plain HTTP.
        string_data["insecureOCIForceHttp"] = "true".into();
    }
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": ARTIFACT_REPO,
            "namespace": super::applications::ARGOCD_NAMESPACE,
            "labels": { "argocd.argoproj.io/secret-type": "repository" }
        },
        "stringData": string_data
    }));
    objects
}

/// The demo objects split in the order `up` applies them: first what the Applications need (the
/// repository Secret declaring the plain-HTTP registry, and the AppProject), then the
/// Applications. Without the Secret, Argo CD's first comparison tries HTTPS against the
/// plain-HTTP registry, fails, and waits a reconcile period (~2 min) before trying again.
pub fn apply_phases(objects: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    objects
        .into_iter()
        .partition(|o| o["kind"] != "Application")
}

/// Annotations on each demo Application saying what its environment runs: the record `up` and
/// `release` read back, so a later publish keeps every other environment as it is and a fresh
/// cluster starts from the configured version (no state file to go stale).
pub const VERSION_ANNOTATION: &str = "kindling.dev/demo-version";
pub const IMAGE_ANNOTATION: &str = "kindling.dev/demo-image";
pub const PROFILE_ANNOTATION: &str = "kindling.dev/demo-profile";

/// The name of an environment's Application.
pub fn application_name(env: &Environment) -> String {
    format!("demo-app-{}", env.name)
}

/// Writes `release` into an Application object's annotations.
pub fn record_release(application: &mut Value, release: &EnvRelease) {
    let annotations = &mut application["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[VERSION_ANNOTATION] = release.version.clone().into();
    annotations[IMAGE_ANNOTATION] = release.image.reference().into();
    annotations[PROFILE_ANNOTATION] = release.profile.as_str().into();
}

/// What an Application's annotations say its environment runs (None: not recorded).
pub fn recorded_release(application: &Value) -> Option<EnvRelease> {
    let annotations = &application["metadata"]["annotations"];
    let version = annotations[VERSION_ANNOTATION].as_str()?;
    let image = annotations[IMAGE_ANNOTATION].as_str()?;
    let profile = annotations[PROFILE_ANNOTATION].as_str()?.parse().ok()?;
    let (repository, tag) = match image.split_once('@') {
        Some((repo, digest)) => (repo, digest),
        None => image.rsplit_once(':')?,
    };
    Some(EnvRelease {
        version: version.to_string(),
        image: DemoImage {
            repository: repository.to_string(),
            tag: tag.to_string(),
        },
        profile,
    })
}

/// The Argo CD objects with each Application annotated with what its environment runs.
pub fn argocd_objects_for(
    config: &Config,
    revision: &str,
    releases: &BTreeMap<String, EnvRelease>,
) -> Vec<Value> {
    let mut objects = argocd_objects(config, revision);
    for object in objects.iter_mut().filter(|o| o["kind"] == "Application") {
        let env = object["metadata"]["labels"]["app.kubernetes.io/environment"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if let Some(release) = releases.get(&env) {
            record_release(object, release);
        }
    }
    objects
}
