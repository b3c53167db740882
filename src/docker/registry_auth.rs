//! Logging in to a registry that is not kindling's own (`registry.push_host`): credentials
//! from the configuration or the environment, else from the Docker config the way the docker
//! CLI finds them (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: an `auths`
//! entry's base64 `user:password`, or a credential helper from `credHelpers` / `credsStore`),
//! and the push target (where images and artifacts go, and how to reach its API).

use super::registry_api::RegistryApi;
use crate::env::Env;
use base64::Engine;
use std::path::PathBuf;

/// A registry login. The password never appears in Debug output or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// Where they were found, for messages ("the Docker config", "credential helper osxkeychain").
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

impl Credentials {
    /// As the Engine API's X-Registry-Auth wants them.
    pub fn for_engine(&self, host: &str) -> bollard::auth::DockerCredentials {
        bollard::auth::DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            serveraddress: Some(host.to_string()),
            ..Default::default()
        }
    }
}

/// Why no credentials could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// The Docker config file the docker CLI reads.
pub fn docker_config_path(env: &Env) -> Option<PathBuf> {
    match env.path("DOCKER_CONFIG") {
        Some(dir) => Some(dir.join("config.json")),
        None => env.path("HOME").map(|h| h.join(".docker/config.json")),
    }
}

/// The registry host of a key in `auths` / `credHelpers`: `https://host/v1/` → `host`.
fn key_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// docker.io's entries are stored under index.docker.io.
fn same_registry(key: &str, host: &str) -> bool {
    let normal = |h: &str| match h {
        "docker.io" | "registry-1.docker.io" => "index.docker.io".to_string(),
        other => other.to_string(),
    };
    normal(key_host(key)) == normal(host)
}

/// Credentials for `host` from the Docker config: None when it has none for that host.
/// A credential helper is run as the docker CLI runs it (`docker-credential-<name> get`, the
/// server on stdin); a missing helper is an error naming it.
pub fn from_docker_config(env: &Env, host: &str) -> Result<Option<Credentials>, AuthError> {
    let Some(path) = docker_config_path(env) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AuthError(format!("cannot read {}: {e}", path.display()))),
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| AuthError(format!("{} is not JSON: {e}", path.display())))?;
    let helper = config["credHelpers"]
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| same_registry(k, host)))
        .and_then(|(_, v)| v.as_str())
        .or_else(|| config["credsStore"].as_str())
        .filter(|h| !h.is_empty());
    let entry = config["auths"]
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| same_registry(k, host)))
        .map(|(_, v)| v);
    if let Some(entry) = entry
        && let Some(found) = inline(entry, &path, host)?
    {
        return Ok(Some(found));
    }
    match helper {
        Some(helper) => run_helper(env, helper, host),
        None => Ok(None),
    }
}

/// An `auths` entry's own login: `auth` (base64 `user:password`) or `username`/`password`.
fn inline(
    entry: &serde_json::Value,
    path: &std::path::Path,
    host: &str,
) -> Result<Option<Credentials>, AuthError> {
    let source = format!("{} (auths.{host})", path.display());
    if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
        let bad = || AuthError(format!("{source}: `auth` is not base64 of user:password"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (username, password) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials {
            username: username.into(),
            password: password.into(),
            source,
        }));
    }
    if let (Some(username), Some(password)) =
        (entry["username"].as_str(), entry["password"].as_str())
    {
        return Ok(Some(Credentials {
            username: username.into(),
            password: password.into(),
            source,
        }));
    }
    if entry["identitytoken"].is_string() {
        return Err(AuthError(format!(
            "{source} holds an identity token (OAuth), which kindling cannot use"
        )));
    }
    Ok(None)
}

/// `docker-credential-<helper> get` with the server on stdin; its JSON `{Username, Secret}`.
fn run_helper(env: &Env, helper: &str, host: &str) -> Result<Option<Credentials>, AuthError> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let mut command = std::process::Command::new(&program);
    if let Some(path) = env.get("PATH") {
        command.env("PATH", path);
    }
    let spawned = command
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AuthError(format!(
                "the Docker config names the credential helper {helper:?} for {host}, but \
                 {program} is not on PATH"
            )));
        }
        Err(e) => return Err(AuthError(format!("cannot run {program}: {e}"))),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| AuthError(format!("{program} get: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // "credentials not found in native keychain": no login for this host.
        if stdout.contains("not found")
            || String::from_utf8_lossy(&output.stderr).contains("not found")
        {
            return Ok(None);
        }
        return Err(AuthError(format!(
            "{program} get failed for {host}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let answer: serde_json::Value = serde_json::from_str(&stdout)
        .map_err(|e| AuthError(format!("{program} get answered no JSON: {e}")))?;
    match (answer["Username"].as_str(), answer["Secret"].as_str()) {
        (Some(username), Some(secret)) => Ok(Some(Credentials {
            username: username.into(),
            password: secret.into(),
            source: format!("credential helper {helper}"),
        })),
        _ => Err(AuthError(format!(
            "{program} get answered without Username and Secret"
        ))),
    }
}

/// Where images and artifacts are pushed: the local registry, or `registry.push_host`.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The registry host[:port] as Docker names it in an image reference.
    pub host: String,
    /// Repository path inside it, with a trailing '/' ("" or "team/").
    pub path: String,
    /// The registry's API, logged in when credentials are known.
    pub api: RegistryApi,
    pub credentials: Option<Credentials>,
}

impl PushTarget {
    /// The local registry on 127.0.0.1:`port` (plain HTTP, no login).
    pub fn local(port: u16) -> PushTarget {
        PushTarget {
            host: format!("localhost:{port}"),
            path: String::new(),
            api: RegistryApi::local(port),
            credentials: None,
        }
    }

    /// A registry at `push_host` (`host[:port][/path]`), over HTTPS unless `plain_http`.
    pub fn remote(
        push_host: &str,
        plain_http: bool,
        credentials: Option<Credentials>,
    ) -> PushTarget {
        let (host, path) = match push_host.split_once('/') {
            Some((host, path)) => (host.to_string(), format!("{}/", path.trim_end_matches('/'))),
            None => (push_host.to_string(), String::new()),
        };
        let scheme = if plain_http { "http" } else { "https" };
        let api =
            RegistryApi::new(format!("{scheme}://{host}")).with_credentials(credentials.clone());
        PushTarget {
            host,
            path,
            api,
            credentials,
        }
    }

    /// A repository's name inside the registry (`team/demo-app`).
    pub fn repository(&self, name: &str) -> String {
        format!("{}{name}", self.path)
    }

    /// An image reference as Docker tags and pushes it (`host/team/demo-app:tag`).
    pub fn reference(&self, name: &str, tag: &str) -> String {
        format!("{}/{}:{tag}", self.host, self.repository(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_config(dir: &std::path::Path, config: &str) -> Env {
        std::fs::write(dir.join("config.json"), config).unwrap();
        Env::from_pairs([
            ("DOCKER_CONFIG", dir.display().to_string()),
            ("PATH", dir.display().to_string()),
        ])
    }

    #[test]
    fn an_auths_entry_gives_the_login_for_its_host_only() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:pa:ss");
        let env = env_with_config(
            dir.path(),
            &format!(
                r#"{{"auths": {{"https://registry.example.com:5000/v1/": {{"auth": "{auth}"}}}}}}"#
            ),
        );
        let found = from_docker_config(&env, "registry.example.com:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.username.as_str(), found.password.as_str()),
            ("ci", "pa:ss")
        );
        assert!(
            !format!("{found:?}").contains("pa:ss"),
            "the password is never printed"
        );
        assert_eq!(from_docker_config(&env, "other.example.com").unwrap(), None);
    }

    #[test]
    fn a_credential_helper_that_is_not_installed_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let env = env_with_config(
            dir.path(),
            r#"{"auths": {"ghcr.io": {}}, "credHelpers": {"ghcr.io": "kindling-test-missing"}}"#,
        );
        let e = from_docker_config(&env, "ghcr.io").unwrap_err();
        assert!(
            e.0.contains("docker-credential-kindling-test-missing"),
            "{e}"
        );
    }

    #[test]
    fn a_credential_helper_is_asked_for_the_host() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-fake");
        // Answers for exactly the host it is given on stdin.
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\n[ \"$host\" = registry.example.com ] || { echo 'credentials not found in native keychain'; exit 1; }\n\
             echo '{\"Username\":\"robot\",\"Secret\":\"t0ken\"}'\n",
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        env_with_config(dir.path(), r#"{"credsStore": "fake"}"#);
        let env = Env::from_pairs([
            ("DOCKER_CONFIG", dir.path().display().to_string()),
            ("PATH", format!("{}:/usr/bin:/bin", dir.path().display())),
        ]);
        let found = from_docker_config(&env, "registry.example.com")
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.username.as_str(), found.password.as_str()),
            ("robot", "t0ken")
        );
        assert_eq!(
            from_docker_config(&env, "elsewhere.example.com").unwrap(),
            None
        );
    }

    #[test]
    fn a_push_target_with_a_path_prefixes_every_repository() {
        let target = PushTarget::remote("ghcr.io/my-team", false, None);
        assert_eq!(target.host, "ghcr.io");
        assert_eq!(target.repository("demo-app"), "my-team/demo-app");
        assert_eq!(
            target.reference("demo-app", "v1"),
            "ghcr.io/my-team/demo-app:v1"
        );
        assert_eq!(target.api.base(), "https://ghcr.io");
        let plain = PushTarget::remote("127.0.0.1:5002", true, None);
        assert_eq!(plain.api.base(), "http://127.0.0.1:5002");
        assert_eq!(
            plain.reference("demo-app", "v1"),
            "127.0.0.1:5002/demo-app:v1"
        );
    }
}
