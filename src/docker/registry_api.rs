//! A small client for the registry HTTP API v2 (distribution): what kindling needs
//! to check readiness, publish OCI artifacts and read manifests back.

use super::error::{RegistryError, Result};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use std::time::Duration;

/// Manifest media types kindling asks for (OCI first, then Docker's).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// A manifest as the registry serves it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub media_type: String,
    pub digest: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct RegistryApi {
    base: String,
    http: reqwest::Client,
}

impl RegistryApi {
    /// A client for `base`, e.g. "http://127.0.0.1:5001".
    pub fn new(base: impl Into<String>) -> RegistryApi {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .expect("HTTP client builds");
        RegistryApi {
            base: base.into().trim_end_matches('/').to_string(),
            http,
        }
    }

    /// The local registry as the host reaches it.
    pub fn local(port: u16) -> RegistryApi {
        RegistryApi::new(format!("http://127.0.0.1:{port}"))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /v2/`: Ok when the registry answers (200, or 401 for a registry with auth).
    pub async fn ping(&self) -> std::result::Result<(), String> {
        let response = self
            .http
            .get(format!("{}/v2/", self.base))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match response.status() {
            StatusCode::OK | StatusCode::UNAUTHORIZED => Ok(()),
            other => Err(format!("HTTP {other}")),
        }
    }

    /// The digest a tag (or digest) currently resolves to; None when absent.
    pub async fn manifest_digest(&self, repo: &str, reference: &str) -> Result<Option<String>> {
        let call = format!("HEAD /v2/{repo}/manifests/{reference}");
        let response = self
            .http
            .head(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header(ACCEPT, MANIFEST_ACCEPT)
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)),
            s => Err(RegistryError::api(call, format!("HTTP {s}"))),
        }
    }

    pub async fn get_manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        let call = format!("GET /v2/{repo}/manifests/{reference}");
        let response = self
            .http
            .get(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header(ACCEPT, MANIFEST_ACCEPT)
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        let response = check(&call, response).await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let media_type = header("content-type");
        let body = response
            .bytes()
            .await
            .map_err(|e| RegistryError::api(&call, e))?
            .to_vec();
        let digest = super::oci::sha256_digest(&body);
        Ok(Manifest {
            media_type,
            digest,
            body,
        })
    }

    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        let call = format!("HEAD /v2/{repo}/blobs/{digest}");
        let response = self
            .http
            .head(format!("{}/v2/{repo}/blobs/{digest}", self.base))
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            s => Err(RegistryError::api(call, format!("HTTP {s}"))),
        }
    }

    pub async fn get_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>> {
        let call = format!("GET /v2/{repo}/blobs/{digest}");
        let response = self
            .http
            .get(format!("{}/v2/{repo}/blobs/{digest}", self.base))
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        let response = check(&call, response).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        let got = super::oci::sha256_digest(&body);
        if got != digest {
            return Err(RegistryError::api(
                call,
                format!("content has digest {got}"),
            ));
        }
        Ok(body.to_vec())
    }

    /// Uploads a blob in one request (POST to open the upload, PUT with the digest);
    /// returns false when the registry already had it.
    pub async fn push_blob(&self, repo: &str, digest: &str, data: Vec<u8>) -> Result<bool> {
        if self.blob_exists(repo, digest).await? {
            return Ok(false);
        }
        let call = format!("POST /v2/{repo}/blobs/uploads/");
        let response = self
            .http
            .post(format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        let response = check(&call, response).await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::api(&call, "no Location header"))?;
        // The Location may be relative and usually has a query string already.
        let mut url = if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        };
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("digest={digest}"));
        let call = format!("PUT blob upload {digest}");
        let response = self
            .http
            .put(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(data)
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        check(&call, response).await?;
        Ok(true)
    }

    /// Stores a manifest under a tag; returns the digest the registry computed.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<String> {
        let call = format!("PUT /v2/{repo}/manifests/{reference}");
        let local = super::oci::sha256_digest(&body);
        let response = self
            .http
            .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header(CONTENT_TYPE, media_type)
            .body(body)
            .send()
            .await
            .map_err(|e| RegistryError::api(&call, e))?;
        let response = check(&call, response).await?;
        Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map_or(local, str::to_string))
    }
}

/// Turns a non-success answer into an error carrying the registry's own message.
async fn check(call: &str, response: reqwest::Response) -> Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Err(RegistryError::api(
        call,
        format!("HTTP {status}: {}", body.trim()),
    ))
}
