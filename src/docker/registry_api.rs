//! A small client for the registry HTTP API v2 (distribution): what kindling needs
//! to check readiness, publish OCI artifacts and read manifests back.
//!
//! Manifests and blobs go through one `oci_client::Client` (as the bundle's copies do,
//! `bundle::upstream`): it answers the registry's challenge (Basic, or a Bearer token from the
//! token service, with the login or anonymously), checks digests and follows upload locations.
//! Its price on a registry without auth (the local one): it caches tokens, not "none needed",
//! so each call first asks `/v2/` again — one more local round trip per call.
//! Two calls stay by hand on reqwest, because oci-client has no call for them:
//! - `ping`: any answer of `/v2/` within 3 s, 401 included, is "up" (readiness, not access);
//! - `check_login`: `/v2/` with the login, quoting the registry's challenge when it refuses
//!   (oci-client's `auth` does not check a Basic login at all; a Bearer login's token does
//!   come from oci-client's token exchange).
//!
//! "Direct" (a registry on this machine) means never through a proxy. oci-client has no
//! switch for that (its `ClientConfig` only adds proxies); see `oci_config` for how it is
//! made to.

use super::error::{RegistryError, Result};
use super::registry_auth::Credentials;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError};
use oci_client::manifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use std::time::Duration;

/// Manifest media types kindling asks for (OCI first, then Docker's).
pub const MANIFEST_ACCEPT: &[&str] = &[
    manifest::OCI_IMAGE_MEDIA_TYPE,
    manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// The longest any one registry call may take (a stalled answer is cut sooner by the read
/// timeout).
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// A manifest as the registry serves it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub media_type: String,
    pub digest: String,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub struct RegistryApi {
    base: String,
    /// `host[:port]` as oci-client names the registry.
    registry: String,
    direct: bool,
    /// For `ping` and `check_login` only.
    http: reqwest::Client,
    oci: oci_client::Client,
    /// The login for a registry that asks for one (`registry_auth`).
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for RegistryApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryApi")
            .field("base", &self.base)
            .field("direct", &self.direct)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl RegistryApi {
    /// A client for `base`, e.g. "https://registry.example.com" (through the proxy the
    /// environment names, if any).
    pub fn new(base: impl Into<String>) -> RegistryApi {
        Self::build(base.into(), false)
    }

    /// A client for a registry on this machine (127.0.0.1, or a container's address on a
    /// Docker network): never through a proxy, which could not reach it.
    pub fn direct(base: impl Into<String>) -> RegistryApi {
        Self::build(base.into(), true)
    }

    fn build(base: String, direct: bool) -> RegistryApi {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = base.trim_end_matches('/').to_string();
        let (scheme, registry) = base.split_once("://").unwrap_or(("https", base.as_str()));
        let registry = registry.to_string();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        if direct {
            builder = builder.no_proxy();
        }
        let http = builder.build().expect("HTTP client builds");
        let oci = oci_client::Client::try_from(oci_config(scheme == "http", direct))
            .expect("OCI client builds");
        RegistryApi {
            base,
            registry,
            direct,
            http,
            oci,
            credentials: None,
        }
    }

    /// The same registry, logged in with `credentials` when the registry asks (HTTP 401).
    pub fn with_credentials(self, credentials: Option<Credentials>) -> RegistryApi {
        // A fresh OCI client: the old one may have stored (and shares with clones) the
        // previous login.
        let mut api = Self::build(self.base, self.direct);
        api.credentials = credentials;
        api
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
            .map_err(|e| chain(&e))?;
        match response.status() {
            StatusCode::OK | StatusCode::UNAUTHORIZED => Ok(()),
            other => Err(format!("HTTP {other}")),
        }
    }

    /// `GET /v2/` with the login: Ok when the registry lets kindling in (200), else why not.
    pub async fn check_login(&self) -> std::result::Result<(), String> {
        let v2 = format!("{}/v2/", self.base);
        let answer = |request: reqwest::RequestBuilder| async move {
            request
                .send()
                .await
                .map_err(|e| format!("{} does not answer: {}", self.base, chain(&e)))
        };
        let mut response = answer(self.http.get(&v2)).await?;
        if response.status() == StatusCode::UNAUTHORIZED
            && let Some(c) = &self.credentials
        {
            let challenge = header(&response, WWW_AUTHENTICATE.as_str());
            let scheme = challenge.split_whitespace().next().unwrap_or_default();
            if scheme.eq_ignore_ascii_case("basic") {
                let request = self
                    .http
                    .get(&v2)
                    .basic_auth(&c.username, Some(&c.password));
                response = answer(request).await?;
            } else if scheme.eq_ignore_ascii_case("bearer") {
                // oci-client's token exchange asks for a repository's scope; any name serves to
                // check the login (a token service refuses a wrong one whatever the scope).
                let probe = self.reference("kindling-login-check", "latest");
                match self
                    .oci
                    .auth(&probe, &self.auth(), RegistryOperation::Pull)
                    .await
                {
                    Ok(Some(token)) => {
                        response = answer(self.http.get(&v2).bearer_auth(token)).await?;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        return Err(format!(
                            "{} refused the login (HTTP 401 {challenge}; its token service: {})",
                            self.base,
                            reason(e)
                        ));
                    }
                }
            }
        }
        match response.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => Err(format!(
                "{} refused the login (HTTP 401 {})",
                self.base,
                header(&response, WWW_AUTHENTICATE.as_str())
            )),
            other => Err(format!("{} answered HTTP {other}", self.base)),
        }
    }

    /// The digest a tag (or digest) currently resolves to; None when absent.
    pub async fn manifest_digest(&self, repo: &str, reference: &str) -> Result<Option<String>> {
        let call = format!("HEAD /v2/{repo}/manifests/{reference}");
        let r = self.reference(repo, reference);
        match self
            .run(&call, self.oci.fetch_manifest_digest(&r, &self.auth()))
            .await
        {
            Ok(digest) => Ok(Some(digest)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(RegistryError::api(call, reason(e))),
        }
    }

    pub async fn get_manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        let call = format!("GET /v2/{repo}/manifests/{reference}");
        let r = self.reference(repo, reference);
        let (body, digest) = self
            .run(
                &call,
                self.oci
                    .pull_manifest_raw(&r, &self.auth(), MANIFEST_ACCEPT),
            )
            .await
            .map_err(|e| RegistryError::api(&call, reason(e)))?;
        Ok(Manifest {
            media_type: media_type_of(&body),
            digest,
            body: body.to_vec(),
        })
    }

    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        let call = format!("HEAD /v2/{repo}/blobs/{digest}");
        let r = self.reference(repo, digest);
        self.store_auth().await;
        self.run(&call, self.oci.blob_exists(&r, digest))
            .await
            .map_err(|e| RegistryError::api(call, reason(e)))
    }

    /// The blob's bytes, checked against `digest`.
    pub async fn get_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>> {
        let call = format!("GET /v2/{repo}/blobs/{digest}");
        let r = self.reference(repo, digest);
        self.store_auth().await;
        let mut body = Vec::new();
        self.run(&call, self.oci.pull_blob(&r, digest, &mut body))
            .await
            .map_err(|e| RegistryError::api(call, reason(e)))?;
        Ok(body)
    }

    /// Uploads a blob in one request (POST to open the upload, PUT with the digest);
    /// returns false when the registry already had it.
    pub async fn push_blob(&self, repo: &str, digest: &str, data: Vec<u8>) -> Result<bool> {
        if self.blob_exists(repo, digest).await? {
            return Ok(false);
        }
        let call = format!("upload of blob {digest} (POST /v2/{repo}/blobs/uploads/, PUT)");
        let r = self.reference(repo, digest);
        self.run(&call, self.oci.push_blob(&r, data, digest))
            .await
            .map_err(|e| RegistryError::api(call, reason(e)))?;
        Ok(true)
    }

    /// Stores a manifest under a tag; returns its digest (the registry names a manifest by
    /// the sha256 of the bytes it was given).
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<String> {
        let call = format!("PUT /v2/{repo}/manifests/{reference}");
        let digest = super::oci::sha256_digest(&body);
        let content_type = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|e| RegistryError::api(&call, format!("media type {media_type:?}: {e}")))?;
        let r = self.reference(repo, reference);
        self.store_auth().await;
        self.run(&call, self.oci.push_manifest_raw(&r, body, content_type))
            .await
            .map_err(|e| RegistryError::api(call, reason(e)))?;
        Ok(digest)
    }

    /// `repo` at a tag or a digest in this registry.
    fn reference(&self, repo: &str, reference: &str) -> Reference {
        if reference.starts_with("sha256:") {
            Reference::with_digest(self.registry.clone(), repo.into(), reference.into())
        } else {
            Reference::with_tag(self.registry.clone(), repo.into(), reference.into())
        }
    }

    fn auth(&self) -> RegistryAuth {
        match &self.credentials {
            Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
            None => RegistryAuth::Anonymous,
        }
    }

    /// The blob and manifest-push calls of oci-client use the login stored by an earlier
    /// call; store it first so that any call can come first.
    async fn store_auth(&self) {
        self.oci
            .store_auth_if_needed(&self.registry, &self.auth())
            .await;
    }

    /// One call, bounded in time.
    async fn run<T>(
        &self,
        call: &str,
        work: impl Future<Output = oci_client::errors::Result<T>>,
    ) -> std::result::Result<T, OciDistributionError> {
        tokio::time::timeout(CALL_TIMEOUT, work)
            .await
            .map_err(|_| {
                OciDistributionError::GenericError(Some(format!(
                    "{call}: no answer within {}s",
                    CALL_TIMEOUT.as_secs()
                )))
            })?
    }
}

/// The OCI client's settings: plain HTTP for an `http://` registry; for a direct one, no
/// proxy. oci-client builds its own reqwest client and offers no `no_proxy()`; what it offers
/// is adding proxies, and reqwest turns the environment's proxies off once one is added
/// (`ClientBuilder::proxy`, reqwest 0.13). So a direct client gets a proxy that every host is
/// excepted from: "*" matches every host name, "0.0.0.0/0" and "::/0" every address (hyper-util
/// 0.1's `NoProxy` matches an address against the address entries only, never "*"). Were the
/// exception ever not to apply, requests would go to the discard port and fail, never to a
/// real proxy. Held by `a_direct_client_never_goes_through_the_environments_proxy`.
fn oci_config(plain_http: bool, direct: bool) -> ClientConfig {
    let (proxy, no_proxy) = if direct {
        (
            Some("http://127.0.0.1:9".to_string()),
            Some("*,0.0.0.0/0,::/0".to_string()),
        )
    } else {
        (None, None)
    };
    ClientConfig {
        protocol: if plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        // kindling reads indexes itself; the client must not pick a platform.
        platform_resolver: None,
        connect_timeout: Some(Duration::from_secs(5)),
        read_timeout: Some(Duration::from_secs(60)),
        // One POST and one PUT per blob, as the registry tests expect of every registry.
        use_monolithic_push: true,
        http_proxy: proxy.clone(),
        https_proxy: proxy,
        no_proxy,
        ..Default::default()
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The manifest's own `mediaType`; an OCI manifest may leave it out (image-spec
/// manifest.md: SHOULD), then an index is told by its `manifests`.
fn media_type_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match value["mediaType"].as_str() {
        Some(t) => t.to_string(),
        None if value.get("manifests").is_some() => manifest::OCI_IMAGE_INDEX_MEDIA_TYPE.into(),
        None => manifest::OCI_IMAGE_MEDIA_TYPE.into(),
    }
}

/// Whether the registry said the manifest (or its repository) is not there.
fn not_found(e: &OciDistributionError) -> bool {
    use oci_client::errors::OciErrorCode as Code;
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                Code::ManifestUnknown | Code::NameUnknown | Code::NotFound
            )
        }),
        OciDistributionError::RequestError(e) => e.status() == Some(StatusCode::NOT_FOUND),
        _ => false,
    }
}

/// What went wrong, as the registry or the network said it.
fn reason(e: OciDistributionError) -> String {
    match e {
        OciDistributionError::UnauthorizedError { .. } => {
            format!("HTTP {}", StatusCode::UNAUTHORIZED)
        }
        OciDistributionError::ServerError { code, message, .. } => {
            let status = StatusCode::from_u16(code).map_or(code.to_string(), |s| s.to_string());
            format!("HTTP {status}: {}", message.trim())
        }
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .map(|e| {
                let code = serde_json::to_value(&e.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("{:?}", e.code));
                format!("{code}: {}", e.message)
            })
            .collect::<Vec<_>>()
            .join("; "),
        OciDistributionError::DigestError(DigestError::VerificationError { actual, .. }) => {
            format!("content has digest {actual}")
        }
        OciDistributionError::RequestError(e) => match e.status() {
            Some(status) => format!("HTTP {status}"),
            None => chain(&e),
        },
        OciDistributionError::GenericError(Some(why)) => why,
        other => chain(&other),
    }
}

/// An error with its causes ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    /// A request as the fake servers see it.
    struct Request {
        line: String,
        authorization: String,
    }

    /// Answers every request on `listener` with what `answer` makes of it, from a thread.
    fn serve(listener: TcpListener, answer: impl Fn(&Request) -> String + Send + 'static) {
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request = Request {
                    line: String::new(),
                    authorization: String::new(),
                };
                let _ = reader.read_line(&mut request.line);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        request.authorization = value.trim().to_string();
                    }
                    header.clear();
                }
                let _ = (&stream).write_all(answer(&request).as_bytes());
            }
        });
    }

    fn answer(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn a_direct_client_never_goes_through_the_environments_proxy() {
        let registry = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
        let (registry_port, proxy_port) = (
            registry.local_addr().unwrap().port(),
            proxy.local_addr().unwrap().port(),
        );
        serve(registry, |_| {
            answer(
                "200 OK",
                &format!("Docker-Content-Digest: {DIGEST}\r\n"),
                "",
            )
        });
        serve(proxy, |_| answer("502 Bad Gateway", "", ""));
        // The environment is read when a client is built: a child process gets the proxy.
        let proxy_url = format!("http://127.0.0.1:{proxy_port}");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "docker::registry_api::tests::ask_through_the_environment",
                "--nocapture",
            ])
            .env(
                "KINDLING_TEST_PROBE_REGISTRY_PORT",
                registry_port.to_string(),
            )
            .env("HTTP_PROXY", &proxy_url)
            .env("HTTPS_PROXY", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.contains(&format!("DIRECT Ok(Some(\"{DIGEST}\"))")),
            "{out}"
        );
        assert!(out.contains("DIRECT PING Ok(())"), "{out}");
        // The same call without `direct` does go to the proxy: the check above can fail.
        assert!(
            out.contains("VIA PROXY Err") && out.contains("502"),
            "{out}"
        );
    }

    /// Run by the test above with a proxy in the environment (does nothing on its own).
    #[tokio::test]
    async fn ask_through_the_environment() {
        let Ok(port) = std::env::var("KINDLING_TEST_PROBE_REGISTRY_PORT") else {
            return;
        };
        let base = format!("http://127.0.0.1:{port}");
        let direct = super::RegistryApi::direct(&base);
        println!("DIRECT {:?}", direct.manifest_digest("app", "v1").await);
        println!("DIRECT PING {:?}", direct.ping().await);
        let via = super::RegistryApi::new(&base);
        let answer = via.manifest_digest("app", "v1").await;
        println!("VIA PROXY {:?}", answer.map_err(|e| e.to_string()));
    }

    /// A registry behind a token service, as ghcr.io or Docker Hub are (distribution's token
    /// auth, docs/spec/auth/token.md): `/v2/` says where to get a token, the token service
    /// wants the login (Basic), the registry wants the token.
    fn token_registry() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let login = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "robot:s3cret")
        );
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\"\r\n"
        );
        serve(listener, move |r| {
            if r.line.starts_with("GET /token?") {
                return match r.authorization == login {
                    true => answer("200 OK", "", r#"{"token":"good-token"}"#),
                    false => answer("401 Unauthorized", "", "bad login"),
                };
            }
            if r.authorization != "Bearer good-token" {
                return answer("401 Unauthorized", &challenge, "");
            }
            match r.line.contains("/manifests/v1 ") {
                true => answer(
                    "200 OK",
                    &format!("Docker-Content-Digest: {DIGEST}\r\n"),
                    "",
                ),
                false => answer("200 OK", "", "{}"),
            }
        });
        port
    }

    fn login(password: &str) -> Option<super::Credentials> {
        Some(super::Credentials {
            username: "robot".into(),
            password: password.into(),
            source: "test".into(),
        })
    }

    #[tokio::test]
    async fn a_registry_behind_a_token_service_takes_the_login_through_a_token() {
        let port = token_registry();
        let api = super::RegistryApi::local(port).with_credentials(login("s3cret"));
        api.check_login().await.unwrap();
        assert_eq!(
            api.manifest_digest("app", "v1").await.unwrap().as_deref(),
            Some(DIGEST)
        );

        let wrong = super::RegistryApi::local(port).with_credentials(login("wrong"));
        let e = wrong.check_login().await.unwrap_err();
        assert!(
            e.contains("refused the login") && e.contains("bad login"),
            "{e}"
        );
        assert!(!e.contains("wrong"), "the password is never shown: {e}");

        let anonymous = super::RegistryApi::local(port);
        let e = anonymous.check_login().await.unwrap_err();
        assert!(
            e.contains("refused the login") && e.contains("Bearer realm="),
            "{e}"
        );
        let e = anonymous.manifest_digest("app", "v1").await.unwrap_err();
        assert!(e.to_string().contains("401"), "{e}");
    }
}
