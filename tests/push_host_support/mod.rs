//! A second local registry that asks for a login: the stand-in registry image (distribution
//! 2.8) with htpasswd auth (`REGISTRY_AUTH=htpasswd`, a bcrypt entry in a mounted file; its
//! docs/content/about/configuration.md, "htpasswd"), published on 127.0.0.1. Removed on drop.
#![allow(dead_code)]

use crate::support;
use base64::Engine;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct AuthRegistry {
    pub name: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    _dir: tempfile::TempDir,
}

impl AuthRegistry {
    /// Starts it; None (skipped) without Docker.
    pub fn start() -> Option<AuthRegistry> {
        support::docker_available()?;
        let dir = tempfile::tempdir().unwrap();
        let (user, password) = ("robot".to_string(), support::unique("pw"));
        let hash = bcrypt::hash(&password, 5).unwrap();
        std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
        let name = support::unique("kauth");
        let port = support::free_port();
        let out = std::process::Command::new("docker")
            .args(["run", "-d", "--name", &name, "-p"])
            .arg(format!("127.0.0.1:{port}:5000"))
            .args([
                "-e",
                "REGISTRY_AUTH=htpasswd",
                "-e",
                "REGISTRY_AUTH_HTPASSWD_REALM=kindling-test",
                "-e",
                "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
                "-v",
            ])
            .arg(format!("{}:/auth:ro", dir.path().display()))
            .arg(support::registry_image())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let registry = AuthRegistry {
            name,
            port,
            user,
            password,
            _dir: dir,
        };
        registry.wait_until_it_asks_for_a_login();
        Some(registry)
    }

    /// `host:port` as push_host names it.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    fn wait_until_it_asks_for_a_login(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = status_of_v2(self.port).unwrap_or_default();
            if answer == "401" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the registry with auth did not come up (last answer {answer:?})"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A Docker config folder holding this registry's login (`auths`, base64 user:password).
    pub fn docker_config(&self, dir: &Path) -> std::path::PathBuf {
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let config = dir.join("docker-config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.json"),
            serde_json::json!({ "auths": { self.host(): { "auth": auth } } }).to_string(),
        )
        .unwrap();
        config
    }

    /// The registry's API with its login.
    pub fn api(&self) -> kindling::docker::registry_api::RegistryApi {
        kindling::docker::registry_api::RegistryApi::local(self.port).with_credentials(Some(
            kindling::docker::registry_auth::Credentials {
                username: self.user.clone(),
                password: self.password.clone(),
                source: "test".into(),
            },
        ))
    }
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
        // The images pushed to it, tagged localhost:<port>/...
        let list = std::process::Command::new("docker")
            .args(["images", "-q", "--filter"])
            .arg(format!("reference=localhost:{}/*", self.port))
            .output();
        if let Ok(list) = list {
            for id in String::from_utf8_lossy(&list.stdout).split_whitespace() {
                let _ = std::process::Command::new("docker")
                    .args(["rmi", "-f", id])
                    .output();
            }
        }
    }
}

/// The HTTP status `GET /v2/` answers with ("401"), by hand: a status line is all it needs.
fn status_of_v2(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    Some(String::from_utf8_lossy(&head[9..12]).into_owned())
}
