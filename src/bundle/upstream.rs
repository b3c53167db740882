//! Registries and chart repositories a bundle is made from or loaded into, through one OCI
//! client (`oci-client`: anonymous token auth as Docker Hub and quay.io require, plain HTTP for
//! the local registry, streamed and digest-verified blobs).
//!
//! `KINDLING_BUNDLE_UPSTREAMS` sends a registry host or a URL prefix elsewhere, e.g.
//! `docker.io=http://mirror.internal:5000,https://traefik.github.io/charts=http://charts.internal/traefik`
//! (a company mirror; the tests' stand-in upstreams). Hosts reached over `http://` use plain HTTP.

use super::error::BundleError;
use super::oci;
use crate::env::Env;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::time::Duration;

pub const OVERRIDES_VAR: &str = "KINDLING_BUNDLE_UPSTREAMS";

/// One OCI client plus where each upstream really is.
#[derive(Clone)]
pub struct Registries {
    client: Client,
    /// Registry host → `host[:port]` to ask instead.
    hosts: Vec<(String, String)>,
    /// URL prefix → replacement prefix.
    urls: Vec<(String, String)>,
    http: reqwest::Client,
}

/// A manifest as a registry served it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub media_type: String,
    pub digest: String,
    pub body: Bytes,
}

impl Registries {
    /// `plain_http`: registries (host:port) spoken to without TLS besides the overrides', e.g.
    /// the local registry on 127.0.0.1.
    pub fn new(env: &Env, plain_http: &[String]) -> Result<Registries, BundleError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut hosts = Vec::new();
        let mut urls = Vec::new();
        for pair in env
            .get(OVERRIDES_VAR)
            .unwrap_or("")
            .split(',')
            .filter(|p| !p.trim().is_empty())
        {
            let (from, to) = pair.split_once('=').ok_or_else(|| BundleError::Invalid {
                what: OVERRIDES_VAR.into(),
                why: format!("{pair:?} is not FROM=TO"),
            })?;
            let (from, to) = (
                from.trim().to_string(),
                to.trim().trim_end_matches('/').to_string(),
            );
            if from.contains("://") {
                urls.push((from.trim_end_matches('/').to_string(), to));
            } else {
                hosts.push((from, to));
            }
        }
        let mut insecure: Vec<String> = plain_http.to_vec();
        insecure.extend(
            hosts
                .iter()
                .filter_map(|(_, to)| to.strip_prefix("http://").map(str::to_string)),
        );
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            // The client's resolver picks one platform of an index; a bundle wants several,
            // so `create` walks indexes itself (and keeps their bytes).
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(20)),
            read_timeout: Some(Duration::from_secs(120)),
            use_monolithic_push: true,
            ..Default::default()
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| BundleError::Invalid {
                what: "HTTP client".into(),
                why: e.to_string(),
            })?;
        Ok(Registries {
            client: Client::new(config),
            hosts,
            urls,
            http,
        })
    }

    /// A reference to `registry/repository` at a tag or digest, sent to the override if any.
    pub fn reference(&self, registry: &str, repository: &str, reference: &str) -> Reference {
        let mut r = if reference.starts_with("sha256:") {
            Reference::with_digest(registry.into(), repository.into(), reference.into())
        } else {
            Reference::with_tag(registry.into(), repository.into(), reference.into())
        };
        if let Some((_, to)) = self.hosts.iter().find(|(from, _)| from == registry) {
            let host = to
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            r.set_mirror_registry(host.to_string());
        }
        r
    }

    /// The URL to fetch instead of `url` (the longest matching override prefix wins).
    pub fn url(&self, url: &str) -> String {
        self.urls
            .iter()
            .filter(|(from, _)| url.starts_with(from.as_str()))
            .max_by_key(|(from, _)| from.len())
            .map_or_else(
                || url.to_string(),
                |(from, to)| format!("{to}{}", &url[from.len()..]),
            )
    }

    pub async fn manifest(&self, r: &Reference) -> Result<Fetched, BundleError> {
        let (body, digest) = self
            .client
            .pull_manifest_raw(r, &RegistryAuth::Anonymous, &oci::ACCEPT)
            .await
            .map_err(|e| upstream(&r.whole(), e))?;
        Ok(Fetched {
            media_type: oci::media_type_of("", &body),
            digest,
            body,
        })
    }

    /// A blob as a stream of chunks (verified against its digest by the client, and again by
    /// the bundle writer).
    pub async fn blob(
        &self,
        r: &Reference,
        digest: &str,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + Unpin + use<>, BundleError>
    {
        let sized = self
            .client
            .pull_blob_stream(r, digest)
            .await
            .map_err(|e| upstream(&format!("{} blob {digest}", r.whole()), e))?;
        Ok(sized.stream.map_err(std::io::Error::other).boxed())
    }

    /// A whole small blob (an image config).
    pub async fn blob_bytes(&self, r: &Reference, digest: &str) -> Result<Vec<u8>, BundleError> {
        let mut stream = self.blob(r, digest).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(
                &chunk.map_err(|e| upstream(&format!("{} blob {digest}", r.whole()), e))?,
            );
        }
        Ok(out)
    }

    pub async fn blob_exists(&self, r: &Reference, digest: &str) -> Result<bool, BundleError> {
        self.client.blob_exists(r, digest).await.map_err(registry)
    }

    /// Makes a blob the registry has in `from` available in `r` without sending it again.
    pub async fn mount(
        &self,
        r: &Reference,
        from: &Reference,
        digest: &str,
    ) -> Result<(), BundleError> {
        self.client
            .mount_blob(r, from, digest)
            .await
            .map_err(registry)
    }

    pub async fn push_blob(
        &self,
        r: &Reference,
        digest: &str,
        size: u64,
        data: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    ) -> Result<(), BundleError> {
        let data = data.map_err(|e| {
            oci_client::errors::OciDistributionError::GenericError(Some(e.to_string()))
        });
        self.client
            .push_blob_stream(r, data, digest, Some(size))
            .await
            .map(|_| ())
            .map_err(registry)
    }

    /// Stores manifest bytes as they are (so the registry computes the same digest).
    pub async fn push_manifest(
        &self,
        r: &Reference,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<(), BundleError> {
        let content_type = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|e| BundleError::Registry(e.to_string()))?;
        self.client
            .push_manifest_raw(r, body, content_type)
            .await
            .map(|_| ())
            .map_err(registry)
    }

    /// GET over HTTP(S) (chart indexes and packages, the kind CLI), after the URL overrides.
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, BundleError> {
        let url = self.url(url);
        let failed = |reason: String| BundleError::Upstream {
            what: url.clone(),
            reason,
        };
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        Ok(response)
    }

    pub async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, BundleError> {
        let response = self.get(url).await?;
        let final_url = response.url().to_string();
        Ok(response
            .bytes()
            .await
            .map_err(|e| BundleError::Upstream {
                what: final_url,
                reason: e.to_string(),
            })?
            .to_vec())
    }
}

fn upstream(what: &str, e: impl std::fmt::Display) -> BundleError {
    BundleError::Upstream {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

fn registry(e: impl std::fmt::Display) -> BundleError {
    BundleError::Registry(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_send_registries_and_url_prefixes_elsewhere() {
        let env = Env::from_pairs([(
            OVERRIDES_VAR,
            "docker.io=http://127.0.0.1:5555, https://traefik.github.io/charts=http://127.0.0.1:8080/traefik/,https://traefik.github.io=http://x",
        )]);
        let r = Registries::new(&env, &[]).unwrap();
        let reference = r.reference("docker.io", "library/redis", "8");
        assert_eq!(reference.resolve_registry(), "127.0.0.1:5555");
        assert_eq!(reference.registry(), "docker.io");
        assert_eq!(
            r.reference("quay.io", "a/b", "1").resolve_registry(),
            "quay.io"
        );
        assert_eq!(
            r.url("https://traefik.github.io/charts/index.yaml"),
            "http://127.0.0.1:8080/traefik/index.yaml"
        );
        assert_eq!(r.url("https://example.com/x"), "https://example.com/x");
        assert!(Registries::new(&Env::from_pairs([(OVERRIDES_VAR, "nonsense")]), &[]).is_err());
    }
}
