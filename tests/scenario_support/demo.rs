//! Real demo-app processes (the workspace's binary), one per released version, on
//! 127.0.0.1 ports; killed on drop.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The demo-app binary, built once per test process when it is missing.
fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let bin = target.join("debug/demo-app");
        if !bin.is_file() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "demo-app"])
                .current_dir(&root)
                .status()
                .expect("run cargo build -p demo-app");
            assert!(status.success(), "cargo build -p demo-app failed");
        }
        bin
    })
    .clone()
}

pub struct DemoApp {
    pub version: String,
    pub port: u16,
    child: Child,
}

impl DemoApp {
    /// Starts `VERSION=version FAULT_ERROR_RATE=error_rate` and waits until it listens.
    pub fn start(version: &str, error_rate: f64) -> DemoApp {
        let port = super::super::support::free_port();
        let child = Command::new(binary())
            .env_clear()
            .env("PORT", port.to_string())
            .env("BIND_ADDR", "127.0.0.1")
            .env("VERSION", version)
            .env("FAULT_ERROR_RATE", error_rate.to_string())
            .env("WORKER_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start demo-app");
        let app = DemoApp {
            version: version.into(),
            port,
            child,
        };
        crate::support::until_blocking(
            &format!("demo-app {version} to listen on {port}"),
            Duration::from_secs(10),
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        app
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
