//! Which kind binary kindling runs: PATH (version-checked), the cache, or a verified download.
//! Downloads come from a local HTTP server standing in for GitHub releases.

mod cluster_support;
mod support;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cluster_support::{env_with, script, settings};
use kindling::cluster::ClusterError;
use kindling::cluster::kind_cli::{self, KindSource, release_file};
use kindling::report::{Event, RecordingReporter, ReporterExt, SharedReporter};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A "release" that behaves like kind for `kind version`.
const FAKE_KIND: &str = "#!/bin/sh\necho 'kind v0.33.0 go1.25.1 linux/amd64'\n";

struct Releases {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Releases {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `files` (path under the base URL → content) on 127.0.0.1 and counts requests.
async fn serve(files: HashMap<String, Vec<u8>>) -> Releases {
    type S = (Arc<HashMap<String, Vec<u8>>>, Arc<Mutex<Vec<String>>>);
    let hits = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/{*path}",
            axum::routing::get(
                |State((files, hits)): State<S>, Path(path): Path<String>| async move {
                    hits.lock().unwrap().push(path.clone());
                    match files.get(&path) {
                        Some(body) => Ok(body.clone()),
                        None => Err(StatusCode::NOT_FOUND),
                    }
                },
            ),
        )
        .with_state((Arc::new(files), hits.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Releases { port, hits, task }
}

fn release(sha: &str) -> HashMap<String, Vec<u8>> {
    let file = release_file();
    HashMap::from([
        (format!("v0.33.0/{file}"), FAKE_KIND.as_bytes().to_vec()),
        (
            format!("v0.33.0/{file}.sha256sum"),
            format!("{sha}  {file}\n").into_bytes(),
        ),
    ])
}

fn reporter() -> (Arc<RecordingReporter>, SharedReporter) {
    let recording = RecordingReporter::new();
    let shared: SharedReporter = recording.clone();
    (recording, shared)
}

#[tokio::test]
async fn kind_on_path_with_the_pinned_version_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    script(&bin.join("kind"), FAKE_KIND);
    let settings = settings(dir.path());
    let env = env_with(Some(&bin), &dir.path().join("kubeconfig"), &[]);
    let (_, reporter) = reporter();
    let step = reporter.step("t", "t");
    let kind = kind_cli::resolve(&settings, &env, &step).await.unwrap();
    step.finish(kindling::report::Outcome::Done, None);
    assert_eq!(kind.source, KindSource::Path);
    assert_eq!(kind.path, bin.join("kind"));
}

#[tokio::test]
async fn kind_on_path_with_another_version_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    script(
        &bin.join("kind"),
        "#!/bin/sh\necho 'kind v0.20.0 go1.20.4 linux/amd64'\n",
    );
    let digest = hex::encode(Sha256::digest(FAKE_KIND.as_bytes()));
    let server = serve(release(&digest)).await;
    let settings = settings(dir.path());
    let url = format!("http://127.0.0.1:{}/", server.port);
    let env = env_with(
        Some(&bin),
        &dir.path().join("kubeconfig"),
        &[("KINDLING_KIND_DOWNLOAD_URL", url)],
    );
    let (recording, reporter) = reporter();
    let step = reporter.step("t", "t");
    let kind = kind_cli::resolve(&settings, &env, &step).await.unwrap();
    step.finish(kindling::report::Outcome::Done, None);
    assert_eq!(kind.source, KindSource::Downloaded);
    assert_eq!(kind.path, kind_cli::cached_path(&settings));
    let said_why = recording.events().iter().any(|e| {
        matches!(e, Event::StepProgress { message, .. } if message.contains("v0.20.0") && message.contains("not the pinned v0.33.0"))
    });
    assert!(said_why, "{:?}", recording.events());
}

#[tokio::test]
async fn a_verified_download_is_used_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("empty");
    std::fs::create_dir(&empty_path).unwrap();
    let digest = hex::encode(Sha256::digest(FAKE_KIND.as_bytes()));
    let server = serve(release(&digest)).await;
    let settings = settings(dir.path());
    let url = format!("http://127.0.0.1:{}", server.port);
    // PATH without kind: only the download can provide it.
    let mut env = env_with(
        None,
        &dir.path().join("kubeconfig"),
        &[("KINDLING_KIND_DOWNLOAD_URL", url.clone())],
    );
    env = kindling::env::Env::from_pairs(env.with_prefix("").into_iter().map(|(k, v)| {
        if k == "PATH" {
            (k, empty_path.display().to_string())
        } else {
            (k, v)
        }
    }));
    let (_, reporter) = reporter();
    let step = reporter.step("t", "t");
    let kind = kind_cli::resolve(&settings, &env, &step).await.unwrap();
    assert_eq!(kind.source, KindSource::Downloaded);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&kind.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "the download is executable");
    let out = kind.run(&["version"]).await.unwrap();
    assert!(out.stdout.contains("v0.33.0"));
    assert_eq!(server.hits.lock().unwrap().len(), 2);

    let again = kind_cli::resolve(&settings, &env, &step).await.unwrap();
    step.finish(kindling::report::Outcome::Done, None);
    assert_eq!(again.source, KindSource::Cached);
    assert_eq!(again.path, kind.path);
    assert_eq!(
        server.hits.lock().unwrap().len(),
        2,
        "reused without downloading again"
    );
}

#[tokio::test]
async fn a_checksum_mismatch_is_an_error_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("empty");
    std::fs::create_dir(&empty_path).unwrap();
    let server = serve(release(&"0".repeat(64))).await;
    let settings = settings(dir.path());
    let env = kindling::env::Env::from_pairs([
        ("PATH", empty_path.display().to_string()),
        (
            "KINDLING_KIND_DOWNLOAD_URL",
            format!("http://127.0.0.1:{}", server.port),
        ),
    ]);
    let (_, reporter) = reporter();
    let step = reporter.step("t", "t");
    let err = kind_cli::resolve(&settings, &env, &step).await.unwrap_err();
    step.fail("expected");
    assert!(matches!(err, ClusterError::Checksum { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not match its published sha256"),
        "{err}"
    );
    assert!(err.hint().is_some());
    let bin_dir = settings.cache_dir.join("bin");
    let left: Vec<_> = std::fs::read_dir(&bin_dir).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The CLI-facing error keeps the hint.
    let error: kindling::Error = err.into();
    assert_eq!(error.exit_status(), kindling::ExitStatus::Failure);
    assert!(!error.hints().is_empty());
}

#[tokio::test]
async fn a_missing_release_is_a_download_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(HashMap::new()).await;
    let settings = settings(dir.path());
    let env = kindling::env::Env::from_pairs([
        ("PATH", dir.path().display().to_string()),
        (
            "KINDLING_KIND_DOWNLOAD_URL",
            format!("http://127.0.0.1:{}", server.port),
        ),
    ]);
    let (_, reporter) = reporter();
    let step = reporter.step("t", "t");
    let err = kind_cli::resolve(&settings, &env, &step).await.unwrap_err();
    step.fail("expected");
    assert!(matches!(err, ClusterError::Download { .. }), "{err}");
    // The server's answer is the cause, on its own line.
    let chain = kindling::error::full_line(&err);
    assert!(chain.contains("HTTP 404"), "{chain}");
    assert!(!kind_cli::cached_path(&settings).exists());
}
