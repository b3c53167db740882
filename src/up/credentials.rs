//! Generated platform credentials, kept in the data dir (mode 0600) so every `up` uses the
//! same ones. Never logged; `kindling status --show-secrets` is where users see them.

use crate::config::Settings;
use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// Grafana's admin password: the configured one, else the generated one (made on first use).
pub fn grafana_password(settings: &Settings) -> Result<String> {
    let configured = &settings.config.credentials.grafana_admin_password;
    if !configured.is_empty() {
        return Ok(configured.clone());
    }
    let path = grafana_password_file(settings);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_string());
    }
    let failed = |e: std::io::Error| Error::context(format!("cannot store {}", path.display()), e);
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(failed)?;
    let mut bytes = [0u8; 18];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| Error::failed("generating a password", "no secure random source"))?;
    let password: String = hex::encode(bytes);
    // Created 0600 from the first byte.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(failed)?;
    file.write_all(password.as_bytes()).map_err(failed)?;
    Ok(password)
}

/// Where the generated Grafana password is kept.
pub fn grafana_password_file(settings: &Settings) -> std::path::PathBuf {
    settings
        .data_dir
        .join("credentials")
        .join("grafana-admin-password")
}
