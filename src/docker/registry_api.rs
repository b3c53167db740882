//! A small client for the registry HTTP API v2 (distribution): what kindling needs
//! to check readiness, publish OCI artifacts and read manifests back.
//!
//! Not (yet) oci-client, which the bundle uses for its copies (`bundle::upstream`): readiness
//! (`ping`: any answer of `/v2/`, 401 included, within 3 s) and the login check (`/v2/` with
//! the login, the registry's challenge quoted back) have no oci-client call, and the artifact
//! publish and manifest reads report `RegistryError`s per call that the registry tests
//! assert. Moving those calls onto one oci-client wrapper is the open part of issue 18.

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
    /// The login for a registry that asks for one (`registry_auth`), and the Authorization
    /// header its last challenge gave (Basic, or a Bearer token from its token service).
    credentials: Option<super::registry_auth::Credentials>,
    authorization: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl RegistryApi {
    /// A client for `base`, e.g. "https://registry.example.com" (through the proxy the
    /// environment names, if any).
    pub fn new(base: impl Into<String>) -> RegistryApi {
        Self::build(base, false)
    }

    /// A client for a registry on this machine (127.0.0.1, or a container's address on a
    /// Docker network): never through a proxy, which could not reach it.
    pub fn direct(base: impl Into<String>) -> RegistryApi {
        Self::build(base, true)
    }

    fn build(base: impl Into<String>, direct: bool) -> RegistryApi {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300));
        if direct {
            builder = builder.no_proxy();
        }
        let http = builder.build().expect("HTTP client builds");
        RegistryApi {
            base: base.into().trim_end_matches('/').to_string(),
            http,
            credentials: None,
            authorization: Default::default(),
        }
    }

    /// The same registry, logged in with `credentials` when the registry asks (HTTP 401).
    pub fn with_credentials(
        mut self,
        credentials: Option<super::registry_auth::Credentials>,
    ) -> RegistryApi {
        self.credentials = credentials;
        self
    }

    /// Sends a request; when the registry answers 401 with a challenge (distribution's
    /// `WWW-Authenticate: Basic realm=...` or `Bearer realm=...,service=...,scope=...`), answers
    /// it (Basic with the login; Bearer with a token from the realm, fetched with the login or
    /// anonymously) and sends the request once more.
    async fn send(&self, request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
        let again = request.try_clone();
        let current = self.authorization.lock().unwrap().clone();
        let request = match &current {
            Some(header) => request.header(reqwest::header::AUTHORIZATION, header),
            None => request,
        };
        let response = request.send().await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let (Some(again), Some(challenge)) = (
            again,
            response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        ) else {
            return Ok(response);
        };
        let Some(header) = self.answer(&challenge).await else {
            return Ok(response);
        };
        if current.as_deref() == Some(header.as_str()) {
            // The same answer was just refused: the login is wrong, say so with this 401.
            return Ok(response);
        }
        *self.authorization.lock().unwrap() = Some(header.clone());
        again
            .header(reqwest::header::AUTHORIZATION, header)
            .send()
            .await
    }

    /// The Authorization header that answers a challenge, if kindling can answer it.
    async fn answer(&self, challenge: &str) -> Option<String> {
        use base64::Engine;
        let basic = self.credentials.as_ref().map(|c| {
            let pair = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let (scheme, params) = challenge.trim().split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return basic;
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = challenge_params(params);
        let realm = params.iter().find(|(k, _)| k == "realm")?.1.clone();
        let query: Vec<(&str, &str)> = params
            .iter()
            .filter(|(k, _)| k == "service" || k == "scope")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let url = reqwest::Url::parse_with_params(&realm, &query).ok()?;
        let mut request = self.http.get(url);
        if let Some(basic) = &basic {
            request = request.header(reqwest::header::AUTHORIZATION, basic);
        }
        let answer: serde_json::Value = request
            .send()
            .await
            .ok()?
            .error_for_status()
            .ok()?
            .json()
            .await
            .ok()?;
        let token = answer["token"]
            .as_str()
            .or_else(|| answer["access_token"].as_str())?;
        Some(format!("Bearer {token}"))
    }

    /// The local registry as the host reaches it.
    pub fn local(port: u16) -> RegistryApi {
        RegistryApi::direct(format!("http://127.0.0.1:{port}"))
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

    /// `GET /v2/` with the login: Ok when the registry lets kindling in (200), else why not.
    pub async fn check_login(&self) -> std::result::Result<(), String> {
        let response = self
            .send(
                self.http
                    .get(format!("{}/v2/", self.base))
                    .timeout(Duration::from_secs(10)),
            )
            .await
            .map_err(|e| format!("{} does not answer: {e}", self.base))?;
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(format!(
                "{} refused the login (HTTP 401 {})",
                self.base,
                response
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            )),
            other => Err(format!("{} answered HTTP {other}", self.base)),
        }
    }

    /// The digest a tag (or digest) currently resolves to; None when absent.
    pub async fn manifest_digest(&self, repo: &str, reference: &str) -> Result<Option<String>> {
        let call = format!("HEAD /v2/{repo}/manifests/{reference}");
        let response = self
            .send(
                self.http
                    .head(format!("{}/v2/{repo}/manifests/{reference}", self.base))
                    .header(ACCEPT, MANIFEST_ACCEPT),
            )
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
            .send(
                self.http
                    .get(format!("{}/v2/{repo}/manifests/{reference}", self.base))
                    .header(ACCEPT, MANIFEST_ACCEPT),
            )
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
            .send(
                self.http
                    .head(format!("{}/v2/{repo}/blobs/{digest}", self.base)),
            )
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
            .send(
                self.http
                    .get(format!("{}/v2/{repo}/blobs/{digest}", self.base)),
            )
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
            .send(
                self.http
                    .post(format!("{}/v2/{repo}/blobs/uploads/", self.base)),
            )
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
            .send(
                self.http
                    .put(url)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(data),
            )
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
            .send(
                self.http
                    .put(format!("{}/v2/{repo}/manifests/{reference}", self.base))
                    .header(CONTENT_TYPE, media_type)
                    .body(body),
            )
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

/// `realm="https://auth.example/token",service="registry",scope="repository:x:pull"` → pairs.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, n)) => (v.to_string(), n),
                None => (quoted.to_string(), ""),
            },
            None => match after.split_once(',') {
                Some((v, n)) => (v.trim().to_string(), n),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((key, value));
        rest = next.trim_start_matches(',').trim();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bearer_challenge_is_read_with_commas_inside_quotes() {
        let params = super::challenge_params(
            r#"realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push""#,
        );
        assert_eq!(
            params,
            [
                (
                    "realm".to_string(),
                    "https://auth.example.com/token".to_string()
                ),
                ("service".to_string(), "registry.example.com".to_string()),
                (
                    "scope".to_string(),
                    "repository:team/app:pull,push".to_string()
                ),
            ]
        );
    }
}
