//! What `up --bundle FILE` changes once the bundle is loaded, so that nothing leaves the machine:
//!
//! - containerd: for every upstream the bundle (or a cache) serves, a hosts.toml whose `server`
//!   is the local registry's copy of that upstream — `http://<registry>:5000/v2/<upstream>` with
//!   `override_path = true` (the path is the API root: containerd then asks for
//!   `/v2/<upstream>/<repository>/manifests/<ref>`, where the load put it). No `[host]` mirror and
//!   no upstream `server`: with `server` set, containerd tries nothing else, so an image the
//!   bundle lacks fails at once with "not found" naming it, instead of stalling on captive Wi-Fi.
//!   (containerd v2.3 docs/hosts.md "server field", "override_path field", and "If you wish to
//!   ensure *only* the mirror is utilised ... set the mirror as the `server`";
//!   core/remotes/docker/config/hosts.go parseHostConfig keeps the path as given with
//!   override_path and only appends the default upstream when no server is set; resolver.go
//!   joins host path and repository.) Chosen over running the caches without a remote: the
//!   caches keep their remote for online runs, and one registry holds the bundle for every
//!   upstream.
//! - kind: the node image from the local registry, pinned by digest (Docker's classic image
//!   store records a digest only for a pull, never for `docker load`).
//! - the platform Applications: charts from the local registry (see `charts`).
//! - the demo image: built from the bundle's demo-app binary when no binary is configured.

use super::charts;
use super::manifest::ChartRecord;
use crate::cluster::wiring::{CERTS_D, NodeFile};
use crate::config::{Config, Settings};
use serde_json::Value;
use std::path::PathBuf;

/// A loaded bundle, as `up` uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offline {
    pub bundle: PathBuf,
    /// Upstream registries whose images the bundle holds.
    pub upstreams: Vec<String>,
    pub charts: Vec<ChartRecord>,
    /// The node image as kind gets it: from the local registry, pinned by digest.
    pub node_image: String,
    /// The demo-app binary for this machine, when the bundle has the demo image.
    pub demo_binary: Option<PathBuf>,
    /// The bundle's files, laid out as a `--bundle DIR` folder.
    pub files_dir: PathBuf,
}

/// The hosts.toml that serves `upstream` from the local registry only.
pub fn hosts_toml(config: &Config, upstream: &str) -> String {
    format!(
        "# Managed by kindling: {upstream} from the loaded bundle, in the local registry only\n\
         # (never the upstream: an image the bundle lacks fails at once, naming it).\n\
         server = \"http://{}:5000/v2/{upstream}\"\n\
         override_path = true\n\
         capabilities = [\"pull\", \"resolve\"]\n",
        config.registry.name
    )
}

impl Offline {
    /// Every upstream served offline: the bundle's, and those the configuration caches (a pull
    /// from one of those must not reach out either).
    pub fn served_upstreams(&self, config: &Config) -> Vec<String> {
        let mut list: Vec<String> = self
            .upstreams
            .iter()
            .chain(&config.registry.mirrors)
            .cloned()
            .collect();
        list.sort();
        list.dedup();
        list
    }

    /// The hosts.toml files that replace the caches' while the bundle is in use.
    pub fn node_files(&self, config: &Config) -> Vec<NodeFile> {
        self.served_upstreams(config)
            .iter()
            .map(|u| NodeFile {
                path: format!("{CERTS_D}/{u}/hosts.toml"),
                content: hosts_toml(config, u),
            })
            .collect()
    }

    /// The settings `up` runs with: the node image from the local registry, and the bundle's
    /// demo-app binary when the configuration names none (a source build needs a Rust builder
    /// image from Docker Hub).
    pub fn apply(&self, settings: &mut Settings) {
        settings.config.cluster.node_image = self.node_image.clone();
        if settings.config.demo.binary.is_empty()
            && let Some(binary) = &self.demo_binary
        {
            settings.config.demo.binary = binary.display().to_string();
        }
    }

    /// Points the Applications whose charts the bundle holds at the local registry, and adds
    /// the repository Secret they need (first: Argo CD must know the repository before the
    /// Applications that use it are compared).
    pub fn platform_objects(&self, config: &Config, applications: &mut [Value]) -> Vec<Value> {
        let repointed = applications
            .iter_mut()
            .map(|app| charts::repoint(app, &self.charts, config))
            .filter(|r| *r)
            .count();
        if repointed == 0 {
            return Vec::new();
        }
        vec![charts::repository_secret(config)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> Offline {
        Offline {
            bundle: "b.tar".into(),
            upstreams: vec!["quay.io".into(), "public.ecr.aws".into()],
            charts: Vec::new(),
            node_image: "localhost:5001/docker.io/kindest/node:v1.36.4@sha256:00".into(),
            demo_binary: Some("/c/demo-app".into()),
            files_dir: "/c/files".into(),
        }
    }

    /// What containerd v2.3 makes of a hosts.toml (core/remotes/docker/config/hosts.go): the
    /// hosts it tries, in order, as URL prefixes; the root `server` comes last and, when it is
    /// empty, is the upstream itself.
    fn containerd_hosts(namespace: &str, text: &str) -> Vec<String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let url = |server: &str, override_path: bool| {
            let (scheme, rest) = server.split_once("://").unwrap_or(("https", server));
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let path = if path.is_empty() {
                if override_path {
                    String::new()
                } else {
                    "/v2".into()
                }
            } else {
                let p = format!("/{}", path.trim_end_matches('/'));
                if p.ends_with("/v2") || override_path {
                    p
                } else {
                    format!("{p}/v2")
                }
            };
            format!("{scheme}://{host}{path}")
        };
        let mut hosts: Vec<String> = table
            .get("host")
            .and_then(|h| h.as_table())
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        url(
                            k,
                            v.get("override_path")
                                .and_then(|o| o.as_bool())
                                .unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let override_path = table
            .get("override_path")
            .and_then(|o| o.as_bool())
            .unwrap_or(false);
        hosts.push(match table.get("server").and_then(|s| s.as_str()) {
            Some(server) => url(server, override_path),
            None => format!("https://{namespace}/v2"),
        });
        hosts
    }

    #[test]
    fn containerd_asks_only_the_local_registrys_copy_of_each_upstream() {
        let mut config = Config::builtin();
        config.registry.mirrors = vec!["docker.io".into(), "quay.io".into()];
        let files = offline().node_files(&config);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/etc/containerd/certs.d/docker.io/hosts.toml",
                "/etc/containerd/certs.d/public.ecr.aws/hosts.toml",
                "/etc/containerd/certs.d/quay.io/hosts.toml"
            ]
        );
        let quay = &files[2].content;
        assert_eq!(
            containerd_hosts("quay.io", quay),
            ["http://kind-registry:5000/v2/quay.io"]
        );
        let table: toml::Table = toml::from_str(quay).unwrap();
        assert_eq!(
            table["capabilities"],
            toml::Value::Array(vec!["pull".into(), "resolve".into()])
        );
        // The online file for the same upstream would end at the upstream itself.
        let online = crate::cluster::wiring::node_files(&config);
        let quay_online = online
            .iter()
            .find(|f| f.path.contains("/quay.io/"))
            .unwrap();
        assert_eq!(
            containerd_hosts("quay.io", &quay_online.content)
                .last()
                .unwrap(),
            "https://quay.io/v2"
        );
    }

    #[test]
    fn without_override_path_containerd_would_append_v2_to_the_path() {
        let text = "server = \"http://kind-registry:5000/v2/quay.io\"\n";
        assert_eq!(
            containerd_hosts("quay.io", text),
            ["http://kind-registry:5000/v2/quay.io/v2"]
        );
    }

    #[test]
    fn up_runs_the_node_image_from_the_registry_and_the_bundled_demo_binary() {
        let dir = std::path::Path::new("/tmp/x");
        let mut settings = Settings {
            config: Config::builtin(),
            source: None,
            data_dir: dir.into(),
            cache_dir: dir.into(),
        };
        offline().apply(&mut settings);
        assert!(
            settings
                .config
                .cluster
                .node_image
                .starts_with("localhost:5001/docker.io/kindest/node:v1.36.4@sha256:")
        );
        assert_eq!(settings.config.demo.binary, "/c/demo-app");
        settings.config.demo.binary = "/mine".into();
        offline().apply(&mut settings);
        assert_eq!(
            settings.config.demo.binary, "/mine",
            "a configured binary wins"
        );
    }
}
