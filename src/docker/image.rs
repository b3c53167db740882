//! Building an image from a context folder (honouring `.dockerignore`) through the
//! Engine API, tagging it `localhost:<port>/<name>:<tag>`, and pushing it to the local
//! registry. Uses the engine's classic builder (Docker 20.10's API default), whose
//! layer cache makes a rebuild with other build args reuse every step before the ARG.

use super::archive;
use super::dockerignore::DockerIgnore;
use super::error::{RegistryError, Result};
use super::pull::stream_error_text;
use super::registry_auth::PushTarget;
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use bollard::Docker;
use bollard::query_parameters::{BuildImageOptionsBuilder, PushImageOptionsBuilder};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How many lines of build output a failure shows.
const TAIL_LINES: usize = 20;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// The build context folder.
    pub context: PathBuf,
    /// The Dockerfile, relative to the context (or an absolute path inside it).
    pub dockerfile: PathBuf,
    /// Repository name in the local registry, e.g. "demo-app".
    pub name: String,
    pub tag: String,
    pub build_args: BTreeMap<String, String>,
}

/// A built and pushed image.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// `localhost:<port>/<name>:<tag>`.
    pub reference: String,
    pub image_id: String,
    /// The manifest digest in the registry.
    pub digest: String,
    /// Created (new tag), Changed (tag moved), Unchanged (the registry had this image).
    pub outcome: Outcome,
    /// Layers the push actually uploaded (0 when the registry had them all).
    pub layers_pushed: usize,
    /// The build's output lines ("Step 1/4 : ...", " ---> Using cache", ...).
    pub build_log: Vec<String>,
}

/// Builds `spec` and pushes it to the local registry on 127.0.0.1:`registry_port`; one step.
pub async fn build_and_push(
    docker: &Docker,
    registry_port: u16,
    spec: &BuildSpec,
    reporter: &SharedReporter,
) -> Result<BuiltImage> {
    build_and_push_to(docker, &PushTarget::local(registry_port), spec, reporter).await
}

/// Builds `spec` and pushes it to `target` (the local registry, or `registry.push_host` with
/// its login); one step.
pub async fn build_and_push_to(
    docker: &Docker,
    target: &PushTarget,
    spec: &BuildSpec,
    reporter: &SharedReporter,
) -> Result<BuiltImage> {
    let reference = target.reference(&spec.name, &spec.tag);
    let step = reporter.step(
        &format!("image:{}", spec.name),
        &format!("Build and push {reference}"),
    );
    match build_and_push_inner(docker, target, spec, &reference, &step).await {
        Ok(built) => {
            step.finish(built.outcome, Some(built.digest.clone()));
            Ok(built)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

async fn build_and_push_inner(
    docker: &Docker,
    target: &PushTarget,
    spec: &BuildSpec,
    reference: &str,
    step: &Step,
) -> Result<BuiltImage> {
    let (image_id, build_log) = build(docker, spec, reference, step).await?;
    let api = &target.api;
    let repository = target.repository(&spec.name);
    let before = api.manifest_digest(&repository, &spec.tag).await?;
    let credentials = target
        .credentials
        .as_ref()
        .map(|c| c.for_engine(&target.host));
    let layers_pushed = push(docker, reference, credentials, step).await?;
    let digest = api
        .manifest_digest(&repository, &spec.tag)
        .await?
        .ok_or_else(|| RegistryError::Push {
            image: reference.to_string(),
            reason: "the registry does not list the tag after the push".into(),
        })?;
    let outcome = match before {
        None => Outcome::Created,
        Some(d) if d == digest => Outcome::Unchanged,
        Some(_) => Outcome::Changed,
    };
    Ok(BuiltImage {
        reference: reference.to_string(),
        image_id,
        digest,
        outcome,
        layers_pushed,
        build_log,
    })
}

/// The build context as a tar: everything `.dockerignore` keeps, plus the Dockerfile
/// and `.dockerignore` themselves (the engine reads them even when ignored).
pub fn context_tar(context: &Path, dockerfile_rel: &str) -> Result<Vec<u8>> {
    let ignore = DockerIgnore::load(context).map_err(RegistryError::io(format!(
        "reading {}/.dockerignore",
        context.display()
    )))?;
    let keep = |rel: &str, is_dir: bool| {
        !is_dir && (rel == dockerfile_rel || rel == ".dockerignore" || !ignore.excluded(rel))
    };
    let entries = archive::collect(context, &keep)?;
    archive::write_tar(context, &entries, Vec::new())
}

/// The Dockerfile's path relative to the context, with `/` separators.
fn dockerfile_rel(spec: &BuildSpec) -> Result<String> {
    let path = if spec.dockerfile.is_absolute() {
        spec.dockerfile.clone()
    } else {
        spec.context.join(&spec.dockerfile)
    };
    let outside = || {
        RegistryError::Input(format!(
            "the Dockerfile {} must be a file inside the build context {}",
            spec.dockerfile.display(),
            spec.context.display()
        ))
    };
    let context = spec.context.canonicalize().map_err(|_| {
        RegistryError::Input(format!(
            "build context {} does not exist",
            spec.context.display()
        ))
    })?;
    let path = path.canonicalize().map_err(|_| outside())?;
    let rel = path.strip_prefix(&context).map_err(|_| outside())?;
    Ok(rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

/// Runs the build; returns the image ID and the build output.
async fn build(
    docker: &Docker,
    spec: &BuildSpec,
    reference: &str,
    step: &Step,
) -> Result<(String, Vec<String>)> {
    let dockerfile = dockerfile_rel(spec)?;
    let tar = context_tar(&spec.context, &dockerfile)?;
    step.progress(format!("sending build context ({} bytes)", tar.len()));
    let build_args: HashMap<String, String> = spec.build_args.clone().into_iter().collect();
    let options = BuildImageOptionsBuilder::default()
        .dockerfile(&dockerfile)
        .t(reference)
        .rm(true)
        .forcerm(true)
        .buildargs(&build_args)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut log: Vec<String> = Vec::new();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => {
                let tail = &log[log.len().saturating_sub(TAIL_LINES)..];
                return Err(RegistryError::Build {
                    image: reference.to_string(),
                    reason: stream_error_text(&e),
                    log: tail.join("\n"),
                });
            }
        };
        if let Some(text) = &info.stream {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                if line.starts_with("Step ") {
                    step.progress(line.to_string());
                }
                log.push(line.to_string());
            }
        }
        if let Some(id) = info.aux.and_then(|a| a.id) {
            image_id = Some(id);
        }
    }
    let image_id = match image_id {
        Some(id) => id,
        // Older engines only print "Successfully built <id>".
        None => super::pull::local_image_id(docker, reference)
            .await?
            .ok_or_else(|| RegistryError::Build {
                image: reference.to_string(),
                reason: "the engine reported no image".into(),
                log: log.join("\n"),
            })?,
    };
    Ok((image_id, log))
}

/// Pushes with byte progress; returns how many layers were uploaded.
async fn push(
    docker: &Docker,
    reference: &str,
    credentials: Option<bollard::auth::DockerCredentials>,
    step: &Step,
) -> Result<usize> {
    let (repository, tag) = reference.rsplit_once(':').expect("reference has a tag");
    let options = PushImageOptionsBuilder::default().tag(tag).build();
    let mut stream = docker.push_image(repository, Some(options), credentials);
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    let mut pushed = 0;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| RegistryError::Push {
            image: reference.to_string(),
            reason: stream_error_text(&e),
        })?;
        match info.status.as_deref() {
            Some("Pushed") => pushed += 1,
            Some("Pushing") => {
                if let Some(detail) = &info.progress_detail
                    && let (Some(current), Some(total)) = (detail.current, detail.total)
                {
                    // The push stream carries no layer id in bollard's model; key by total.
                    layers.insert(
                        total.to_string(),
                        (current.max(0) as u64, total.max(0) as u64),
                    );
                    let current: u64 = layers.values().map(|l| l.0).sum();
                    let total: u64 = layers.values().map(|l| l.1).sum();
                    step.progress_count(format!("pushing {reference}"), current, Some(total));
                }
            }
            _ => {}
        }
    }
    Ok(pushed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn context_honours_dockerignore_but_keeps_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*\n!app.txt\n").unwrap();
        std::fs::write(dir.path().join("app.txt"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "x").unwrap();
        let tar = context_tar(dir.path(), "Dockerfile").unwrap();
        assert_eq!(
            entry_names(&tar),
            [".dockerignore", "Dockerfile", "app.txt"]
        );
    }

    /// The paths in a tar archive, in order.
    pub(crate) fn entry_names(tar: &[u8]) -> Vec<String> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }
}
