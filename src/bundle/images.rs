//! Which images the platform runs, read from the running cluster's pods: each container's
//! `spec` image (the name and tag the platform asks for) and `status.containerStatuses[].imageID`
//! (the digest the node actually pulled). Images whose imageID names no repository (a bare
//! `sha256:` image ID) were not pulled: kind preloads them into the node image (etcd,
//! kube-apiserver, coredns, kindnet, ...), so they come with the node image, not the bundle.

use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeMap;

/// An image reference, normalised as containerd names it (`docker.io/library/redis:8`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageRef {
    /// `docker.io`, `quay.io`, `localhost:5001`, ...
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference as Docker and containerd do (`redis` → docker.io/library/redis:latest).
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let text = text.trim();
        let parsed: oci_client::Reference = text
            .parse()
            .map_err(|e| format!("{text:?} is not an image reference: {e}"))?;
        Ok(ImageRef {
            registry: parsed.registry().to_string(),
            repository: parsed.repository().to_string(),
            tag: parsed.tag().map(str::to_string),
            digest: parsed.digest().map(str::to_string),
        })
    }

    /// `registry/repository[:tag][@digest]`.
    pub fn name(&self) -> String {
        let mut name = format!("{}/{}", self.registry, self.repository);
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }

    /// The tag or digest a registry is asked for (the digest when both are known: it is what ran).
    pub fn reference(&self) -> String {
        self.digest
            .clone()
            .or_else(|| self.tag.clone())
            .unwrap_or_else(|| "latest".into())
    }
}

/// What the pods say, merged: one entry per image, with where it was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundImages {
    /// Image → the pods (`namespace/name`) that run it.
    pub images: BTreeMap<ImageRef, Vec<String>>,
    /// Images kind preloaded into the node image (not copied), with a pod that runs each.
    pub preloaded: BTreeMap<String, String>,
    /// References that could not be parsed, with the pod.
    pub invalid: Vec<(String, String)>,
}

/// The digest in an imageID (`docker.io/library/redis@sha256:...`, or with the legacy
/// `docker-pullable://` prefix); None for a bare image ID.
fn pulled_digest(image_id: &str) -> Option<(String, String)> {
    let id = image_id
        .trim_start_matches("docker-pullable://")
        .trim_start_matches("docker://");
    let (repo, digest) = id.rsplit_once('@')?;
    (!repo.is_empty() && digest.starts_with("sha256:"))
        .then(|| (repo.to_string(), digest.to_string()))
}

/// The images of these pods (containers and init containers), merged.
pub fn from_pods(pods: &[Pod]) -> FoundImages {
    let mut found = FoundImages::default();
    for pod in pods {
        let where_ = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or("default"),
            pod.metadata.name.as_deref().unwrap_or("?")
        );
        let Some(spec) = &pod.spec else { continue };
        let status = pod.status.as_ref();
        let statuses: Vec<_> = status
            .into_iter()
            .flat_map(|s| {
                s.container_statuses
                    .iter()
                    .flatten()
                    .chain(s.init_container_statuses.iter().flatten())
            })
            .collect();
        let containers = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten());
        for container in containers {
            let Some(image) = container.image.as_deref() else {
                continue;
            };
            let image_id = statuses
                .iter()
                .find(|s| s.name == container.name)
                .map(|s| s.image_id.as_str())
                .unwrap_or("");
            let mut parsed = match ImageRef::parse(image) {
                Ok(p) => p,
                Err(_) => {
                    found.invalid.push((image.to_string(), where_.clone()));
                    continue;
                }
            };
            match pulled_digest(image_id) {
                Some((_, digest)) if parsed.digest.is_none() => parsed.digest = Some(digest),
                Some(_) => {}
                None if image_id.starts_with("sha256:") => {
                    found.preloaded.insert(parsed.name(), where_.clone());
                    continue;
                }
                None => {} // not started yet: the tag is all we know
            }
            found.images.entry(parsed).or_default().push(where_.clone());
        }
    }
    found
}

/// Images the kubelet pulled for pods that may be gone since (a Helm hook Job deleted once it
/// succeeded): the quoted image of each `Pulling` event (kubelet's `Pulling image "<ref>"`,
/// pkg/kubelet/images/image_manager.go). Events live an hour (the API server's --event-ttl), so
/// this finds what a recent `up` pulled.
pub fn from_events(events: &[k8s_openapi::api::core::v1::Event]) -> Vec<ImageRef> {
    let mut found: Vec<ImageRef> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Pulling"))
        .filter_map(|e| {
            let message = e.message.as_deref()?;
            let quoted = message.split_once("image \"")?.1.split('"').next()?;
            ImageRef::parse(quoted).ok()
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Every event of the cluster.
pub async fn list_events(
    client: kube::Client,
) -> Result<Vec<k8s_openapi::api::core::v1::Event>, kube::Error> {
    let api: kube::Api<k8s_openapi::api::core::v1::Event> = kube::Api::all(client);
    Ok(api.list(&Default::default()).await?.items)
}

/// Every pod of the cluster.
pub async fn list_pods(client: kube::Client) -> Result<Vec<Pod>, kube::Error> {
    let api: kube::Api<Pod> = kube::Api::all(client);
    Ok(api.list(&Default::default()).await?.items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(
        ns: &str,
        name: &str,
        containers: serde_json::Value,
        statuses: serde_json::Value,
    ) -> Pod {
        serde_json::from_value(json!({
            "metadata": { "namespace": ns, "name": name },
            "spec": { "containers": containers },
            "status": { "containerStatuses": statuses }
        }))
        .unwrap()
    }

    #[test]
    fn images_pulled_for_pods_that_are_gone_come_from_the_pulling_events() {
        let event = |reason: &str, message: &str| -> k8s_openapi::api::core::v1::Event {
            serde_json::from_value(json!({
                "metadata": { "name": "e", "namespace": "monitoring" },
                "involvedObject": { "kind": "Pod", "name": "admission-create-x" },
                "reason": reason, "message": message
            }))
            .unwrap()
        };
        let events = vec![
            event(
                "Pulling",
                "Pulling image \"registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.3\"",
            ),
            event(
                "Pulled",
                "Successfully pulled image \"registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.3\" in 2.1s",
            ),
            event(
                "Pulled",
                "Container image \"registry.k8s.io/etcd:3.6.0-0\" already present on machine",
            ),
            event(
                "Pulling",
                "Pulling image \"registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.3\"",
            ),
            event("Started", "Started container x"),
        ];
        let names: Vec<String> = from_events(&events).iter().map(ImageRef::name).collect();
        assert_eq!(
            names,
            ["registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.3"]
        );
    }

    #[test]
    fn references_are_normalised_as_containerd_names_them() {
        let r = ImageRef::parse("redis:8.2").unwrap();
        assert_eq!(r.name(), "docker.io/library/redis:8.2");
        let r = ImageRef::parse("quay.io/argoproj/argocd:v3.5.1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("quay.io", "argoproj/argocd")
        );
        let r = ImageRef::parse("localhost:5001/demo-app@sha256:0000000000000000000000000000000000000000000000000000000000000000").unwrap();
        assert_eq!(r.registry, "localhost:5001");
        assert!(r.tag.is_none());
        assert!(ImageRef::parse("Not An Image").is_err());
    }

    #[test]
    fn the_pulled_digest_pins_the_spec_image_and_preloaded_images_are_left_to_the_node_image() {
        let d = format!("sha256:{}", "a".repeat(64));
        let pods = vec![
            pod(
                "argocd",
                "server",
                json!([{ "name": "s", "image": "quay.io/argoproj/argocd:v3.5.1" }]),
                json!([{ "name": "s", "image": "quay.io/argoproj/argocd:v3.5.1", "imageID": format!("quay.io/argoproj/argocd@{d}"),
                         "ready": true, "restartCount": 0 }]),
            ),
            pod(
                "argocd",
                "repo",
                json!([{ "name": "r", "image": "quay.io/argoproj/argocd:v3.5.1" }]),
                json!([{ "name": "r", "image": "x", "imageID": format!("docker-pullable://quay.io/argoproj/argocd@{d}"),
                         "ready": true, "restartCount": 0 }]),
            ),
            pod(
                "kube-system",
                "etcd",
                json!([{ "name": "etcd", "image": "registry.k8s.io/etcd:3.6.0-0" }]),
                json!([{ "name": "etcd", "image": "x", "imageID": format!("sha256:{}", "b".repeat(64)),
                         "ready": true, "restartCount": 0 }]),
            ),
            pod(
                "default",
                "pending",
                json!([{ "name": "p", "image": "redis:8" }]),
                json!([]),
            ),
        ];
        let found = from_pods(&pods);
        let names: Vec<String> = found.images.keys().map(ImageRef::name).collect();
        assert_eq!(
            names,
            [
                "docker.io/library/redis:8".to_string(),
                format!("quay.io/argoproj/argocd:v3.5.1@{d}")
            ]
        );
        assert_eq!(found.images.values().map(Vec::len).sum::<usize>(), 3);
        assert!(found.preloaded.contains_key("registry.k8s.io/etcd:3.6.0-0"));
    }
}
