//! Upstream manifests are never used unverified: bundle, cache and download paths all
//! check the pinned sha256.

mod support;

use kindling::platform::fetch::{FetchError, Sources, fetch, sha256_hex};
use kindling::platform::pinned::{Artifact, argocd_install};

fn sources(bundle: Option<std::path::PathBuf>, cache: &std::path::Path) -> Sources {
    Sources {
        bundle,
        cache_dir: cache.to_path_buf(),
        allow_unpinned: false,
    }
}

/// An artifact whose URL cannot answer (nothing listens on port 1).
fn offline(mut artifact: Artifact) -> Artifact {
    artifact.url = "http://127.0.0.1:1/install.yaml".into();
    artifact
}

#[tokio::test]
async fn bundle_copy_of_argocd_install_is_verified_and_read() {
    let Some(shared) = support::shared_dir() else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let artifact = offline(argocd_install("v3.5.1"));
    let bytes = fetch(
        &artifact,
        &sources(Some(shared.join("upstream")), cache.path()),
    )
    .await
    .unwrap();
    assert_eq!(bytes.len(), 1_917_766);
    assert_eq!(sha256_hex(&bytes), artifact.sha256.unwrap());
}

#[tokio::test]
async fn tampered_bundle_copy_is_refused() {
    let Some(original) = support::upstream("argo-cd/v3.5.1/install.yaml") else {
        return;
    };
    let bundle = tempfile::tempdir().unwrap();
    let target = bundle.path().join("argo-cd/v3.5.1/install.yaml");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let mut bytes = std::fs::read(original).unwrap();
    bytes.extend_from_slice(b"\n---\nkind: ConfigMap\n");
    std::fs::write(&target, bytes).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(
        &offline(argocd_install("v3.5.1")),
        &sources(Some(bundle.path().into()), cache.path()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("795a3a97"), "{err}");
}

#[tokio::test]
async fn missing_file_in_bundle_names_the_layout() {
    let bundle = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(
        &offline(argocd_install("v3.5.1")),
        &sources(Some(bundle.path().into()), cache.path()),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("argo-cd/v3.5.1/install.yaml"),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("<project>/<version>/<file>"));
}

#[tokio::test]
async fn unpinned_version_is_refused_unless_allowed() {
    let cache = tempfile::tempdir().unwrap();
    let artifact = offline(argocd_install("v3.4.0"));
    assert!(artifact.sha256.is_none());
    let err = fetch(&artifact, &sources(None, cache.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Unpinned { .. }));
    assert!(err.hint().unwrap().contains("--allow-unpinned"));

    // Allowed: a bundle copy is then used as it is.
    let bundle = tempfile::tempdir().unwrap();
    let path = bundle.path().join("argo-cd/v3.4.0/install.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "kind: List\n").unwrap();
    let allowed = Sources {
        bundle: Some(bundle.path().into()),
        cache_dir: cache.path().into(),
        allow_unpinned: true,
    };
    assert_eq!(fetch(&artifact, &allowed).await.unwrap(), b"kind: List\n");
}

#[tokio::test]
async fn no_network_and_no_bundle_names_the_bundle_flag() {
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(
        &offline(argocd_install("v3.5.1")),
        &sources(None, cache.path()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::Download { .. }), "{err}");
    assert!(err.hint().unwrap().contains("--bundle"));
}

#[tokio::test]
async fn verified_cache_is_used_and_a_damaged_one_is_not() {
    let Some(original) = support::upstream("argo-cd/v3.5.1/install.yaml") else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let cached = cache.path().join("argo-cd/v3.5.1/install.yaml");
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::copy(&original, &cached).unwrap();
    let artifact = offline(argocd_install("v3.5.1"));
    assert_eq!(
        fetch(&artifact, &sources(None, cache.path()))
            .await
            .unwrap()
            .len(),
        1_917_766
    );

    std::fs::write(&cached, b"damaged").unwrap();
    let err = fetch(&artifact, &sources(None, cache.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Download { .. }),
        "a damaged cache must not be used: {err}"
    );
    assert!(!cached.exists(), "the damaged cache entry is removed");
}
