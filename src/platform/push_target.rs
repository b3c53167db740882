//! Where the demo image and the manifests artifact go: the local registry (kind, and an
//! existing cluster without `registry.push_host`), or `registry.push_host` with its login —
//! `credentials.registry_username`/`_password` (or their KINDLING_CREDENTIALS_REGISTRY_*
//! variables) first, else the Docker config (`docker::registry_auth`).

use crate::config::{Config, Provider};
use crate::docker::registry_auth::{self, Credentials, PushTarget};
use crate::env::Env;
use crate::error::{Error, Result};

/// Whether images and manifests go to `registry.push_host` rather than the local registry.
pub fn uses_push_host(config: &Config) -> bool {
    config.cluster.provider == Provider::Existing && !config.registry.push_host.is_empty()
}

/// The push target of this configuration (the login is looked up, not yet tried).
pub fn target(config: &Config, env: &Env) -> Result<PushTarget> {
    if !uses_push_host(config) {
        return Ok(PushTarget::local(config.registry.host_port));
    }
    let push_host = &config.registry.push_host;
    let host = push_host.split('/').next().unwrap_or(push_host);
    let credentials = credentials(config, env, host)?;
    Ok(PushTarget::remote(
        push_host,
        config.registry.plain_http,
        credentials,
    ))
}

fn credentials(config: &Config, env: &Env, host: &str) -> Result<Option<Credentials>> {
    let c = &config.credentials;
    match (
        c.registry_username.is_empty(),
        c.registry_password.is_empty(),
    ) {
        (false, false) => {
            return Ok(Some(Credentials {
                username: c.registry_username.clone(),
                password: c.registry_password.clone(),
                source: "credentials.registry_username/_password".into(),
            }));
        }
        (true, true) => {}
        _ => {
            return Err(Error::failed(
                format!("logging in to {host}"),
                "only one of credentials.registry_username and credentials.registry_password is set",
            )
            .with_hint(
                "set both (KINDLING_CREDENTIALS_REGISTRY_USERNAME and \
                 KINDLING_CREDENTIALS_REGISTRY_PASSWORD), or neither to use the Docker config",
            ));
        }
    }
    registry_auth::from_docker_config(env, host).map_err(|e| {
        Error::failed(format!("reading the login for {host}"), e).with_hint(format!(
            "`docker login {host}`, or set KINDLING_CREDENTIALS_REGISTRY_USERNAME and \
             KINDLING_CREDENTIALS_REGISTRY_PASSWORD"
        ))
    })
}

/// Checks that the target answers and takes the login before anything is built for it.
pub async fn check_login(target: &PushTarget) -> Result<()> {
    let host = &target.host;
    target.api.check_login().await.map_err(|why| {
        let login = match &target.credentials {
            Some(c) => format!("the login of {} (user {})", c.source, c.username),
            None => "no login (none configured, none in the Docker config)".into(),
        };
        Error::failed(format!("registry {host} (registry.push_host)"), why).with_hint(format!(
            "kindling tried {login}: `docker login {host}`, or set \
             KINDLING_CREDENTIALS_REGISTRY_USERNAME and KINDLING_CREDENTIALS_REGISTRY_PASSWORD"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_cluster_and_an_existing_one_without_push_host_use_the_local_registry() {
        let mut config = Config::builtin();
        config.registry.push_host = "registry.example.com".into();
        let target = target(&config, &Env::default()).unwrap();
        assert_eq!(
            target.host,
            format!("localhost:{}", config.registry.host_port)
        );
        config.cluster.provider = Provider::Existing;
        let target = super::target(&config, &Env::default()).unwrap();
        assert_eq!(target.host, "registry.example.com");
        assert_eq!(target.api.base(), "https://registry.example.com");
    }

    #[test]
    fn configured_credentials_win_and_half_of_a_login_is_an_error() {
        let mut config = Config::builtin();
        config.cluster.provider = Provider::Existing;
        config.registry.push_host = "registry.example.com".into();
        config.credentials.registry_username = "robot".into();
        let e = target(&config, &Env::default()).unwrap_err();
        assert!(e.to_string().contains("only one"), "{e}");
        config.credentials.registry_password = "s3cret".into();
        let found = target(&config, &Env::default())
            .unwrap()
            .credentials
            .unwrap();
        assert_eq!(found.username, "robot");
    }
}
