//! The admin passwords, read only for `--show-secrets`. Never logged: they travel as
//! `Secret`, whose Debug is redacted.
//!
//! - Argo CD: Secret `argocd/argocd-initial-admin-secret`, key `password` (Argo CD writes it at
//!   install; users may delete it after changing the password).
//! - Grafana: the Secret `up` gives Grafana (`monitoring/grafana-admin`, key `admin-password`);
//!   when the cluster cannot be read, the configured password or the one `up` generated and
//!   kept in the data dir.

use super::READ_TIMEOUT;
use super::model::{Secret, SecretStatus, Secrets};
use crate::config::Settings;
use crate::platform::applications::{ARGOCD_NAMESPACE, GRAFANA_ADMIN_SECRET};
use k8s_openapi::api::core::v1::Secret as KubeSecret;
use kube::Api;

const ARGOCD_SECRET: &str = "argocd-initial-admin-secret";
const GRAFANA_NAMESPACE: &str = "monitoring";
const GRAFANA_PASSWORD_KEY: &str = "admin-password";

pub async fn collect(client: Option<&kube::Client>, settings: &Settings) -> Secrets {
    let (argocd, grafana) = match client {
        Some(client) => tokio::join!(
            read(client, ARGOCD_NAMESPACE, ARGOCD_SECRET, "password"),
            read(
                client,
                GRAFANA_NAMESPACE,
                GRAFANA_ADMIN_SECRET,
                GRAFANA_PASSWORD_KEY
            ),
        ),
        None => {
            let why = || Err("the cluster cannot be read".to_string());
            (why(), why())
        }
    };
    Secrets {
        argocd: status(argocd),
        grafana: match grafana {
            Ok(found) => status(Ok(found)),
            Err(why) => status(grafana_from_host(settings).ok_or(why)),
        },
    }
}

fn status(found: Result<(Secret, String), String>) -> SecretStatus {
    match found {
        Ok((password, source)) => SecretStatus {
            user: "admin".into(),
            password: Some(password),
            source: Some(source),
            problem: None,
        },
        Err(why) => SecretStatus {
            user: "admin".into(),
            password: None,
            source: None,
            problem: Some(why),
        },
    }
}

/// One key of a Secret (`data`, base64-decoded by the client; or `stringData` as some servers
/// and fakes keep it).
async fn read(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<(Secret, String), String> {
    let api: Api<KubeSecret> = Api::namespaced(client.clone(), namespace);
    let where_ = format!("Secret {namespace}/{name}");
    let secret = match tokio::time::timeout(READ_TIMEOUT, api.get_opt(name)).await {
        Ok(Ok(Some(secret))) => secret,
        Ok(Ok(None)) => return Err(format!("{where_} not found")),
        Ok(Err(e)) => return Err(format!("reading {where_}: {e}")),
        Err(_) => {
            return Err(format!(
                "reading {where_}: no answer within {}s",
                READ_TIMEOUT.as_secs()
            ));
        }
    };
    let from_data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
    let from_string_data = || {
        secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(key))
            .cloned()
    };
    from_data
        .or_else(from_string_data)
        .map(|value| (Secret::new(value), format!("{where_} key {key}")))
        .ok_or_else(|| format!("{where_} has no key {key}"))
}

/// Grafana's password without the cluster: the configured one, else the file `up` keeps
/// (`up::credentials::grafana_password_file`: `<data_dir>/credentials/grafana-admin-password`).
/// Read only: status never generates one.
fn grafana_from_host(settings: &Settings) -> Option<(Secret, String)> {
    let configured = &settings.config.credentials.grafana_admin_password;
    if !configured.is_empty() {
        return Some((
            Secret::new(configured.clone()),
            "credentials.grafana_admin_password".into(),
        ));
    }
    let path = settings
        .data_dir
        .join("credentials")
        .join("grafana-admin-password");
    let text = std::fs::read_to_string(&path).ok()?;
    Some((
        Secret::new(text.trim().to_string()),
        path.display().to_string(),
    ))
}
