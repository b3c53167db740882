//! Pinned upstream artifacts: where each comes from and its sha256. Nothing is applied
//! unless its checksum matches a pin here (or the user passes --allow-unpinned).

/// One upstream file kindling applies, laid out in a bundle as `<project>/<version>/<file>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub project: &'static str,
    pub version: String,
    pub file: &'static str,
    pub url: String,
    /// None: no pinned checksum for this version.
    pub sha256: Option<&'static str>,
}

impl Artifact {
    /// Path inside a bundle or the cache: `<project>/<version>/<file>`; None when the
    /// version could step outside that folder (configuration validates versions; this
    /// holds for any caller).
    pub fn relative_path(&self) -> Option<std::path::PathBuf> {
        crate::paths::is_plain_name(&self.version)
            .then(|| [self.project, &self.version, self.file].iter().collect())
    }
}

/// sha256 of argo-cd's manifests/install.yaml per release tag.
const ARGOCD_INSTALL: &[(&str, &str)] = &[(
    "v3.5.1",
    "795a3a972224da6a7f9d32c3e946445f062b60fb46028476715affeb688236e3",
)];

/// Argo CD's install.yaml for a release tag.
pub fn argocd_install(version: &str) -> Artifact {
    Artifact {
        project: "argo-cd",
        version: version.to_string(),
        file: "install.yaml",
        url: format!(
            "https://raw.githubusercontent.com/argoproj/argo-cd/{version}/manifests/install.yaml"
        ),
        sha256: ARGOCD_INSTALL
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, sum)| *sum),
    }
}
