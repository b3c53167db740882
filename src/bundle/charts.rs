//! Helm charts: which the platform pins (read from the platform Applications themselves, so a
//! new component is bundled without a list to keep in step), fetching them from their chart
//! repository (index.yaml → .tgz, checked against the index's digest) or OCI registry, and, with
//! a bundle loaded, the Applications pointed at the local registry.
//!
//! Argo CD v3.5.1 reads a Helm chart from an OCI registry over plain HTTP as a `type: helm`
//! repository with `enableOCI: "true"` and `insecureOCIForceHttp: "true"`, the Application's
//! `repoURL` being the registry path without a scheme and `chart` the chart's name: the
//! repo-server then runs `helm pull oci://<repoURL>/<chart> --version <targetRevision>
//! --plain-http` (argo-cd v3.5.1 util/helm/cmd.go PullOCI, reposerver/repository/repository.go
//! newHelmClientResolveRevision; docs/operator-manual/declarative-setup.md "Helm" for the
//! Secret; cmd/util/common.go ValidateInsecureOCIForceHTTP: the flag needs type oci, or helm
//! with enableOCI). `insecure: "true"` must not be set as well: with Helm 4 it drops
//! --plain-http (docs/operator-manual/upgrading/3.4-3.5.md).

use super::error::BundleError;
use super::manifest::ChartRecord;
use super::oci::{self, Parsed};
use super::upstream::Registries;
use crate::config::Config;
use serde_json::{Value, json};

/// The repository path charts are served under in the local registry (`charts/<name>:<version>`).
pub const LOCAL_PATH: &str = "charts";
/// The Argo CD repository Secret that declares it.
pub const REPOSITORY_SECRET: &str = "kindling-bundle-charts";

/// A chart an Application installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartSource {
    pub application: String,
    pub name: String,
    pub version: String,
    /// The Application's repoURL: `https://...` (a chart repository) or `oci://...`.
    pub repo_url: String,
}

impl ChartSource {
    fn of(app: &Value) -> Option<ChartSource> {
        let source = &app["spec"]["source"];
        let repo_url = source["repoURL"].as_str()?.to_string();
        let version = source["targetRevision"].as_str()?.to_string();
        let name = match source["chart"].as_str() {
            Some(chart) => chart.to_string(),
            // An OCI source names the chart in its path: oci://quay.io/jetstack/charts/cert-manager.
            None if repo_url.starts_with("oci://") => repo_url.rsplit('/').next()?.to_string(),
            None => return None,
        };
        Some(ChartSource {
            application: app["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name,
            version,
            repo_url,
        })
    }
}

/// The charts of these Applications (Applications with another kind of source are skipped).
pub fn sources(applications: &[Value]) -> Vec<ChartSource> {
    applications.iter().filter_map(ChartSource::of).collect()
}

/// A chart as fetched: its package, and for an OCI chart the artifact as published.
#[derive(Debug, Clone)]
pub struct FetchedChart {
    pub source: ChartSource,
    pub tgz: Vec<u8>,
    /// (manifest bytes, config bytes) of the OCI artifact: the upstream's when it came from a
    /// registry (kept byte for byte), else made the way `helm push` makes them.
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
}

impl FetchedChart {
    pub fn record(&self) -> ChartRecord {
        ChartRecord {
            name: self.source.name.clone(),
            version: self.source.version.clone(),
            source: self.source.repo_url.clone(),
            digest: oci::sha256_digest(&self.tgz),
            size: self.tgz.len() as u64,
            manifest: oci::sha256_digest(&self.manifest),
            config: oci::sha256_digest(&self.config),
        }
    }
}

/// Fetches one chart from its upstream.
pub async fn fetch(
    registries: &Registries,
    source: &ChartSource,
) -> Result<FetchedChart, BundleError> {
    let what = format!(
        "chart {} {} from {}",
        source.name, source.version, source.repo_url
    );
    let failed = |reason: String| BundleError::Upstream {
        what: what.clone(),
        reason,
    };
    if let Some(path) = source.repo_url.strip_prefix("oci://") {
        let (registry, repository) = path
            .split_once('/')
            .ok_or_else(|| failed("no repository in the URL".into()))?;
        let reference = registries.reference(registry, repository, &oci::helm_tag(&source.version));
        let fetched = registries.manifest(&reference).await?;
        let Ok(Parsed::Image { config, layers }) = oci::parse(&fetched.media_type, &fetched.body)
        else {
            return Err(failed("not a Helm chart artifact".into()));
        };
        let content = layers
            .iter()
            .find(|l| l.media_type == oci::HELM_CONTENT)
            .ok_or_else(|| failed(format!("no {} layer", oci::HELM_CONTENT)))?;
        let tgz = registries.blob_bytes(&reference, &content.digest).await?;
        let config_bytes = registries.blob_bytes(&reference, &config.digest).await?;
        return Ok(FetchedChart {
            source: source.clone(),
            tgz,
            manifest: fetched.body.to_vec(),
            config: config_bytes,
        });
    }
    let base = source.repo_url.trim_end_matches('/');
    let index = registries.get_bytes(&format!("{base}/index.yaml")).await?;
    let index: Value =
        serde_saphyr::from_slice(&index).map_err(|e| failed(format!("index.yaml: {e}")))?;
    let entry = index["entries"][&source.name]
        .as_array()
        .and_then(|versions| {
            versions
                .iter()
                .find(|v| v["version"] == source.version.as_str())
        })
        .ok_or_else(|| failed("the repository's index.yaml does not list that version".into()))?;
    let url = entry["urls"][0]
        .as_str()
        .ok_or_else(|| failed("index.yaml lists no URL".into()))?;
    let url = reqwest::Url::parse(&format!("{base}/"))
        .and_then(|b| b.join(url))
        .map_err(|e| failed(format!("chart URL {url}: {e}")))?;
    let tgz = registries.get_bytes(url.as_str()).await?;
    // Chart repositories publish each package's sha256 in index.yaml.
    let expected = entry["digest"]
        .as_str()
        .ok_or_else(|| failed("index.yaml lists no digest".into()))?;
    let actual = oci::sha256_digest(&tgz);
    if actual.trim_start_matches("sha256:") != expected.trim_start_matches("sha256:") {
        return Err(failed(format!(
            "{url} has sha256 {actual}, index.yaml says {expected}"
        )));
    }
    let (config, manifest) = oci::helm_chart(&tgz).map_err(failed)?;
    Ok(FetchedChart {
        source: source.clone(),
        tgz,
        manifest,
        config,
    })
}

/// The chart repository as the cluster reaches the local registry (no scheme: a Helm OCI repo).
pub fn local_repo_url(config: &Config) -> String {
    format!("{}:5000/{LOCAL_PATH}", config.registry.name)
}

/// Points an Application whose chart the bundle holds at the local registry; returns whether
/// it did. The values, release name and version stay as they were.
pub fn repoint(app: &mut Value, charts: &[ChartRecord], config: &Config) -> bool {
    let Some(source) = ChartSource::of(app) else {
        return false;
    };
    if !charts
        .iter()
        .any(|c| c.name == source.name && c.version == source.version)
    {
        return false;
    }
    let spec = &mut app["spec"]["source"];
    spec["repoURL"] = json!(local_repo_url(config));
    spec["chart"] = json!(source.name);
    if let Some(object) = spec.as_object_mut() {
        object.remove("path");
    }
    true
}

/// The repository Secret declaring the local registry's charts to Argo CD (see the module comment).
pub fn repository_secret(config: &Config) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": REPOSITORY_SECRET,
            "namespace": crate::platform::applications::ARGOCD_NAMESPACE,
            "labels": { "argocd.argoproj.io/secret-type": "repository" }
        },
        "stringData": {
            "name": "kindling-bundle-charts",
            "url": local_repo_url(config),
            "type": "helm",
            "enableOCI": "true",
            "insecureOCIForceHttp": "true"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_application_names_a_pinned_chart() {
        let config = Config::builtin();
        let sources = sources(&crate::platform::applications::all(&config));
        let names: Vec<(&str, &str)> = sources
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_str()))
            .collect();
        assert!(names.contains(&("traefik", "41.3.0")));
        assert!(names.contains(&("cert-manager", "v1.21.1")));
        assert!(names.contains(&("kube-prometheus-stack", "88.5.3")));
        assert_eq!(
            sources.len(),
            crate::platform::applications::all(&config).len()
        );
    }

    #[test]
    fn a_bundled_chart_is_read_from_the_local_registry_with_its_values_kept() {
        let config = Config::builtin();
        let mut app = crate::platform::applications::cert_manager(&config);
        let record = ChartRecord {
            name: "cert-manager".into(),
            version: "v1.21.1".into(),
            source: "oci://quay.io/jetstack/charts/cert-manager".into(),
            digest: "sha256:00".into(),
            size: 1,
            manifest: "sha256:01".into(),
            config: "sha256:02".into(),
        };
        assert!(repoint(&mut app, std::slice::from_ref(&record), &config));
        let source = &app["spec"]["source"];
        assert_eq!(source["repoURL"], "kind-registry:5000/charts");
        assert_eq!(source["chart"], "cert-manager");
        assert_eq!(source["targetRevision"], "v1.21.1");
        assert!(source.get("path").is_none());
        assert_eq!(source["helm"]["valuesObject"]["crds"]["enabled"], true);
        let mut traefik = crate::platform::applications::traefik(&config);
        assert!(
            !repoint(&mut traefik, &[record], &config),
            "a chart the bundle lacks stays upstream"
        );

        let secret = repository_secret(&config);
        assert_eq!(secret["stringData"]["url"], source["repoURL"]);
        assert_eq!(secret["stringData"]["type"], "helm");
        assert_eq!(secret["stringData"]["enableOCI"], "true");
        assert_eq!(secret["stringData"]["insecureOCIForceHttp"], "true");
        assert!(
            secret["stringData"].get("insecure").is_none(),
            "Helm 4 drops --plain-http with it"
        );
    }
}
