//! `bundle load` (and the first part of `up --bundle FILE`): verify the whole file, then make
//! every pull local. Each action checks before it acts (a blob the registry has is not sent
//! again, an image Docker has is not loaded again), so a load that was interrupted converges
//! when run again.

use super::archive::{self, Progress, Verified};
use super::error::{BundleError, human_bytes};
use super::files;
use super::manifest::{FileRole, ImageRecord, ImageRole, blob_path};
use super::oci::{self, Parsed};
use super::offline::Offline;
use super::platform::Platform;
use super::upstream::Registries;
use crate::config::Settings;
use crate::docker::registry_api::RegistryApi;
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use bollard::Docker;
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

fn settle<T>(
    step: Step,
    result: Result<(T, Outcome, String), BundleError>,
) -> Result<T, BundleError> {
    match result {
        Ok((value, outcome, detail)) => {
            step.finish(outcome, Some(detail));
            Ok(value)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

/// Uploads at once into the local registry (it is disk-bound; more do not help).
const PARALLEL: usize = 3;

/// Progress nobody sees (blobs counted elsewhere).
fn quiet() -> Progress {
    Progress::new(Arc::new(crate::report::NullReporter), "", "", 0)
}

fn changed(done: usize) -> Outcome {
    if done == 0 {
        Outcome::Unchanged
    } else {
        Outcome::Changed
    }
}

/// Verifies the bundle against this configuration and Docker engine (nothing is changed when
/// it does not fit), then loads it.
pub async fn load(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    path: &Path,
) -> Result<Offline, BundleError> {
    let config = &settings.config;
    let docker = crate::docker::connect(env, config.timeouts.docker).await?;
    let engine = super::engine_platform(&docker).await?;

    let step = reporter.step("bundle.verify", &format!("Verify {}", path.display()));
    let result = async {
        let verified = archive::verify(path, reporter, "bundle.verify").await?;
        super::check_compatible(path, &verified.manifest, config, &engine)?;
        check_kind(&verified, settings, env).await?;
        let files_size: u64 = verified
            .manifest
            .files
            .iter()
            .filter_map(|f| verified.manifest.entry(&f.path))
            .map(|e| e.size)
            .sum();
        archive::check_space(&settings.cache_dir, files_size)?;
        let detail = format!(
            "{} entries, {}; made by kindling {} for {}",
            verified.manifest.entries.len() + 1,
            human_bytes(verified.manifest.content_bytes()),
            verified.manifest.kindling_version,
            verified
                .manifest
                .platforms
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok((verified, Outcome::Done, detail))
    }
    .await;
    let verified = settle(step, result)?;
    let manifest = &verified.manifest;

    let step = reporter.step(
        "bundle.registry-image",
        &format!("Registry image {}", config.registry.image),
    );
    let result = registry_image(&docker, &verified, config, &engine, &step).await;
    settle(step, result)?;

    crate::docker::registry::up(&docker, config, reporter)
        .await
        .map_err(|e| BundleError::Registry(e.to_string()))?;

    let local = format!("127.0.0.1:{}", config.registry.host_port);
    let registries = Registries::new(env, std::slice::from_ref(&local))?;
    let target = Target {
        registries: &registries,
        api: RegistryApi::local(config.registry.host_port),
        host: local.clone(),
    };

    let step = reporter.step("bundle.images", "Images into the local registry");
    let result = push_images(&target, &verified, reporter).await;
    settle(step, result)?;

    let step = reporter.step("bundle.charts", "Helm charts into the local registry");
    let result = push_charts(&target, &verified).await;
    settle(step, result)?;

    let step = reporter.step(
        "bundle.files",
        "kind CLI, install.yaml and the demo-app binary",
    );
    let result = extract_files(&verified, settings, &engine).await;
    let demo_binary = settle(step, result)?;

    let node = manifest
        .images
        .iter()
        .find(|i| i.role == ImageRole::Node)
        .ok_or_else(|| BundleError::Incomplete {
            path: path.into(),
            missing: vec![config.cluster.node_image.clone()],
        })?;
    // By digest alone: what Docker records for a pull, so kind finds it without pulling.
    let node_image = format!(
        "{}/{}@{}",
        config.registry_host(),
        node.local_repository(),
        node.digest
    );
    let step = reporter.step(
        "bundle.node-image",
        "Node image into Docker (from the local registry)",
    );
    let result = node_image_into_docker(&docker, &node_image, &step).await;
    settle(step, result)?;

    let mut upstreams: Vec<String> = manifest
        .images
        .iter()
        .filter(|i| matches!(i.role, ImageRole::Platform | ImageRole::Node))
        .map(|i| i.registry.clone())
        .collect();
    upstreams.sort();
    upstreams.dedup();
    Ok(Offline {
        bundle: path.to_path_buf(),
        upstreams,
        charts: manifest.charts.clone(),
        node_image,
        demo_binary,
        files_dir: files::extracted_dir(settings),
    })
}

/// The bundle must carry kind for this machine, unless kind of the pinned version is on the PATH.
async fn check_kind(
    verified: &Verified,
    settings: &Settings,
    env: &Env,
) -> Result<(), BundleError> {
    let host = Platform::this_host();
    if files::kind_for_host(&verified.manifest.files, &host).is_some()
        || env.get("KINDLING_KIND_BIN").is_some()
    {
        return Ok(());
    }
    if let Some(path) = crate::cluster::kind_cli::find_on_path(env) {
        let cli = crate::cluster::kind_cli::KindCli::at(path, env);
        if let Ok(out) = cli.run(&["version"]).await
            && crate::cluster::kind_cli::parse_version(&out.stdout).as_deref()
                == Some(settings.config.cluster.kind_version.as_str())
        {
            return Ok(());
        }
    }
    Err(BundleError::NoKindForHost {
        path: verified.path.clone(),
        host: host.to_string(),
        hosts: verified
            .manifest
            .hosts
            .iter()
            .map(|h| h.to_string())
            .collect(),
    })
}

/// The local registry as a push target.
struct Target<'a> {
    registries: &'a Registries,
    api: RegistryApi,
    host: String,
}

impl Target<'_> {
    fn reference(&self, repository: &str, reference: &str) -> oci_client::Reference {
        self.registries.reference(&self.host, repository, reference)
    }

    /// A blob into `repository` unless it is there, streamed from the bundle. Returns the
    /// bytes sent.
    async fn upload(
        &self,
        verified: &Verified,
        repository: &str,
        digest: &str,
        progress: &Progress,
    ) -> Result<u64, BundleError> {
        let r = self.reference(repository, "latest");
        let size = verified
            .manifest
            .entry(&blob_path(digest))
            .map_or(0, |e| e.size);
        if self.registries.blob_exists(&r, digest).await? {
            progress.add(size);
            return Ok(0);
        }
        // The registry checks the digest of what it receives (and refuses a mismatch), so the
        // bundle's own check is not repeated here.
        let reader = verified
            .open_unchecked(&blob_path(digest), Some(progress.clone()))
            .await?;
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, 1 << 20);
        self.registries.push_blob(&r, digest, size, stream).await?;
        Ok(size)
    }

    /// A blob another repository of the registry has, into `repository`: mounted (nothing is
    /// sent), uploaded only when the mount does not take.
    async fn mount(
        &self,
        verified: &Verified,
        repository: &str,
        digest: &str,
        from: &str,
    ) -> Result<u64, BundleError> {
        let r = self.reference(repository, "latest");
        if self.registries.blob_exists(&r, digest).await? {
            return Ok(0);
        }
        let source = self.reference(from, "latest");
        if self.registries.mount(&r, &source, digest).await.is_ok()
            && self.registries.blob_exists(&r, digest).await?
        {
            return Ok(0);
        }
        self.upload(verified, repository, digest, &quiet()).await
    }

    /// Every (repository, blob) pair: each distinct blob uploaded once (a few at a time), then
    /// mounted into the other repositories that need it. Returns the bytes sent.
    async fn blobs(
        &self,
        verified: &Verified,
        pairs: &[(String, String)],
        progress: &Progress,
    ) -> Result<u64, BundleError> {
        let mut first: Vec<(&str, &str)> = Vec::new();
        let mut mounts: Vec<(&str, &str, &str)> = Vec::new();
        let mut owner: HashMap<&str, &str> = HashMap::new();
        for (repository, digest) in pairs {
            match owner.get(digest.as_str()) {
                Some(from) if *from != repository.as_str() => {
                    mounts.push((repository, digest, from))
                }
                Some(_) => {}
                None => {
                    owner.insert(digest, repository);
                    first.push((repository, digest));
                }
            }
        }
        let uploaded: Vec<u64> = futures::stream::iter(
            first
                .into_iter()
                .map(|(repository, digest)| self.upload(verified, repository, digest, progress)),
        )
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
        let mounted: Vec<u64> = futures::stream::iter(
            mounts
                .into_iter()
                .map(|(repository, digest, from)| self.mount(verified, repository, digest, from)),
        )
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
        Ok(uploaded.iter().chain(&mounted).sum())
    }

    /// A manifest by digest (and then by tag), unless the registry already has it so.
    async fn manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<bool, BundleError> {
        let digest = oci::sha256_digest(&body);
        let current = self
            .api
            .manifest_digest(repository, reference)
            .await
            .map_err(|e| BundleError::Registry(e.to_string()))?;
        if current.as_deref() == Some(digest.as_str()) {
            return Ok(false);
        }
        self.registries
            .push_manifest(&self.reference(repository, reference), media_type, body)
            .await?;
        Ok(true)
    }
}

async fn push_images(
    target: &Target<'_>,
    verified: &Verified,
    reporter: &SharedReporter,
) -> Result<((), Outcome, String), BundleError> {
    let manifest = &verified.manifest;
    let images: Vec<&ImageRecord> = manifest
        .images
        .iter()
        .filter(|i| i.role != ImageRole::Registry)
        .collect();
    let mut unique: Vec<&str> = images
        .iter()
        .flat_map(|i| i.blobs.iter().map(String::as_str))
        .collect();
    unique.sort();
    unique.dedup();
    let total: u64 = unique
        .iter()
        .filter_map(|d| manifest.entry(&blob_path(d)))
        .map(|e| e.size)
        .sum();
    let progress = Progress::new(reporter.clone(), "bundle.images", "pushing", total);
    let pairs: Vec<(String, String)> = images
        .iter()
        .flat_map(|i| i.blobs.iter().map(|d| (i.local_repository(), d.clone())))
        .collect();
    let sent = target.blobs(verified, &pairs, &progress).await?;
    let mut manifests = 0usize;
    for image in &images {
        let repository = image.local_repository();
        for m in &image.manifests {
            let body = verified.read(&blob_path(&m.digest)).await?;
            manifests += usize::from(
                target
                    .manifest(&repository, &m.digest, &m.media_type, body)
                    .await?,
            );
        }
        if let (Some(tag), Some(top)) = (&image.tag, image.manifests.last()) {
            let body = verified.read(&blob_path(&top.digest)).await?;
            manifests += usize::from(
                target
                    .manifest(&repository, tag, &top.media_type, body)
                    .await?,
            );
        }
    }
    let detail = format!(
        "{} image(s); {} of {} sent at {}/s, {} manifest(s) written",
        images.len(),
        human_bytes(sent),
        human_bytes(total),
        human_bytes(progress.rate()),
        manifests
    );
    Ok(((), changed(sent as usize + manifests), detail))
}

async fn push_charts(
    target: &Target<'_>,
    verified: &Verified,
) -> Result<((), Outcome, String), BundleError> {
    let charts = &verified.manifest.charts;
    let repository = |name: &str| format!("{}/{name}", super::charts::LOCAL_PATH);
    let pairs: Vec<(String, String)> = charts
        .iter()
        .flat_map(|c| {
            [
                (repository(&c.name), c.digest.clone()),
                (repository(&c.name), c.config.clone()),
            ]
        })
        .collect();
    let mut done = usize::from(target.blobs(verified, &pairs, &quiet()).await? > 0);
    for chart in charts {
        let body = verified.read(&blob_path(&chart.manifest)).await?;
        let media_type = oci::media_type_of(oci::OCI_MANIFEST, &body);
        done += usize::from(
            target
                .manifest(
                    &repository(&chart.name),
                    &oci::helm_tag(&chart.version),
                    &media_type,
                    body,
                )
                .await?,
        );
    }
    let names = verified
        .manifest
        .charts
        .iter()
        .map(|c| format!("{} {}", c.name, c.version))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(((), changed(done), names))
}

/// Writes `bytes` from an entry to `dest` through a temporary name (never a half-written file).
async fn extract(
    verified: &Verified,
    entry: &str,
    dest: &Path,
    mode: u32,
) -> Result<bool, BundleError> {
    let want = verified
        .manifest
        .entry(entry)
        .map(|e| e.sha256.clone())
        .unwrap_or_default();
    if let Ok(bytes) = tokio::fs::read(dest).await
        && crate::platform::fetch::sha256_hex(&bytes) == want
    {
        return Ok(false);
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(BundleError::io("cannot create", dir))?;
    let temp = dir.join(format!(
        ".{}.partial-{}",
        dest.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = async {
        let mut reader = verified.open(entry, None).await?;
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(BundleError::io("cannot create", &temp))?;
        tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|e| verified.damaged(entry, e))?;
        file.flush()
            .await
            .map_err(BundleError::io("cannot write", &temp))?;
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode))
            .await
            .map_err(BundleError::io("cannot write", &temp))?;
        tokio::fs::rename(&temp, dest)
            .await
            .map_err(BundleError::io("cannot move into place", dest))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result.map(|()| true)
}

/// The files under the cache (kind also where `up` looks for the pinned kind), and the
/// demo-app binary for this engine's platform. Returns the binary's path.
async fn extract_files(
    verified: &Verified,
    settings: &Settings,
    engine: &Platform,
) -> Result<(Option<PathBuf>, Outcome, String), BundleError> {
    let dir = files::extracted_dir(settings);
    let mut done = 0usize;
    for file in &verified.manifest.files {
        let dest =
            files::extract_path(&dir, &file.path).ok_or_else(|| BundleError::Unexpected {
                path: verified.path.clone(),
                entry: file.path.clone(),
                expected: "a path under files/".into(),
            })?;
        let mode = files::mode(&file.path);
        done += usize::from(extract(verified, &file.path, &dest, mode).await?);
    }
    if let Some(kind) = files::kind_for_host(&verified.manifest.files, &Platform::this_host()) {
        let dest = crate::cluster::kind_cli::cached_path(settings);
        done += usize::from(extract(verified, &kind.path, &dest, 0o755).await?);
    }
    let binary = demo_binary(verified, settings, engine).await?;
    // Where the other laptops' kindling is, for whoever copies it on from here.
    let kindling = verified
        .manifest
        .files
        .iter()
        .filter(|f| f.role == FileRole::Kindling)
        .filter_map(|f| files::extract_path(&dir, &f.path))
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>();
    let detail = format!(
        "{} file(s) in {}{}{}",
        verified.manifest.files.len(),
        dir.display(),
        binary
            .as_ref()
            .map(|b| format!("; demo-app binary {}", b.display()))
            .unwrap_or_default(),
        if kindling.is_empty() {
            String::new()
        } else {
            format!("; kindling {}", kindling.join(", "))
        }
    );
    Ok((binary, changed(done), detail))
}

/// The `demo-app` file of the bundle's demo image for this platform (the configured version's
/// tag when there are several), extracted for offline image builds.
async fn demo_binary(
    verified: &Verified,
    settings: &Settings,
    engine: &Platform,
) -> Result<Option<PathBuf>, BundleError> {
    let demo: Vec<&ImageRecord> = verified
        .manifest
        .images
        .iter()
        .filter(|i| {
            i.role == ImageRole::Local && i.repository == crate::platform::demo_image::IMAGE_NAME
        })
        .collect();
    let Some(image) = demo
        .iter()
        .find(|i| i.tag.as_deref() == Some(settings.config.demo.version.as_str()))
        .or(demo.first())
    else {
        return Ok(None);
    };
    let Some(m) = image.manifest_for(engine) else {
        return Ok(None);
    };
    let body = verified.read(&blob_path(&m.digest)).await?;
    let Ok(Parsed::Image { layers, .. }) = oci::parse(&m.media_type, &body) else {
        return Ok(None);
    };
    let dest = settings
        .cache_dir
        .join("bundle/demo-app")
        .join(format!("{}-{}", engine.os, engine.architecture))
        .join("demo-app");
    for layer in layers.iter().rev() {
        let bytes = verified.read(&blob_path(&layer.digest)).await?;
        if let Some(binary) = file_in_layer(&bytes, "demo-app") {
            let dir = dest.parent().expect("has a parent");
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(BundleError::io("cannot create", dir))?;
            let temp = dir.join(format!(".demo-app.partial-{}", std::process::id()));
            tokio::fs::write(&temp, &binary)
                .await
                .map_err(BundleError::io("cannot write", &temp))?;
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))
                .await
                .map_err(BundleError::io("cannot write", &temp))?;
            tokio::fs::rename(&temp, &dest)
                .await
                .map_err(BundleError::io("cannot move into place", &dest))?;
            return Ok(Some(dest));
        }
    }
    Ok(None)
}

/// A file's content from an image layer (gzip'd or plain tar).
fn file_in_layer(layer: &[u8], name: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let gz = layer.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(layer))
    } else {
        Box::new(layer)
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        let path = entry
            .path()
            .ok()?
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        if path == name {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).ok()?;
            return Some(bytes);
        }
    }
    None
}

/// The registry image into Docker (`docker load` of a tar made from the bundle's blobs), when
/// Docker does not have it: the registry must run before anything can be pushed to it.
async fn registry_image(
    docker: &Docker,
    verified: &Verified,
    config: &crate::config::Config,
    engine: &Platform,
    step: &Step,
) -> Result<((), Outcome, String), BundleError> {
    let name = &config.registry.image;
    if crate::docker::pull::local_image_id(docker, name)
        .await
        .map_err(|e| BundleError::Registry(e.to_string()))?
        .is_some()
    {
        return Ok(((), Outcome::Unchanged, "present in Docker".into()));
    }
    let image = verified
        .manifest
        .images
        .iter()
        .find(|i| i.role == ImageRole::Registry)
        .ok_or_else(|| BundleError::Incomplete {
            path: verified.path.clone(),
            missing: vec![name.clone()],
        })?;
    let m = image
        .manifest_for(engine)
        .ok_or_else(|| BundleError::Incomplete {
            path: verified.path.clone(),
            missing: vec![format!("{name} for {engine}")],
        })?;
    let body = verified.read(&blob_path(&m.digest)).await?;
    let Ok(Parsed::Image {
        config: image_config,
        layers,
    }) = oci::parse(&m.media_type, &body)
    else {
        return Err(BundleError::Invalid {
            what: name.clone(),
            why: "its manifest is not an image manifest".into(),
        });
    };
    let total: u64 = layers.iter().map(|l| l.size).sum::<u64>() + image_config.size;
    let progress = Progress::new(step.reporter().clone(), step.id(), "docker load", total);
    // docker load's format: manifest.json naming the config and the layers (gzip'd layers are
    // read as they are), then those files.
    let paths: Vec<String> = layers.iter().map(|l| blob_path(&l.digest)).collect();
    let docker_manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": blob_path(&image_config.digest),
        "RepoTags": [crate::docker::pull::with_default_tag(name)],
        "Layers": paths,
    }]))
    .expect("serializes");
    let (writer, reader) = tokio::io::duplex(1 << 20);
    let verified_for_task = verified.clone();
    let entries: Vec<String> = std::iter::once(blob_path(&image_config.digest))
        .chain(paths.clone())
        .collect();
    let writer_task = tokio::spawn(async move {
        let mut builder = tokio_tar::Builder::new(writer);
        let mut header = tokio_tar::Header::new_ustar();
        header.set_size(docker_manifest.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "manifest.json", docker_manifest.as_slice())
            .await?;
        let mut written = std::collections::HashSet::new();
        for entry in entries {
            if !written.insert(entry.clone()) {
                continue;
            }
            let size = verified_for_task
                .manifest
                .entry(&entry)
                .map_or(0, |e| e.size);
            let mut header = tokio_tar::Header::new_ustar();
            header.set_size(size);
            header.set_mode(0o644);
            let data = verified_for_task
                .open(&entry, Some(progress.clone()))
                .await
                .map_err(std::io::Error::other)?;
            builder.append_data(&mut header, &entry, data).await?;
        }
        builder.finish().await?;
        builder.into_inner().await?.shutdown().await
    });
    let options = bollard::query_parameters::ImportImageOptionsBuilder::default()
        .quiet(true)
        .build();
    let mut stream =
        docker.import_image_stream(options, tokio_util::io::ReaderStream::new(reader), None);
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                    error = Some(detail);
                }
            }
            Err(e) => error = Some(crate::docker::pull::stream_error_text(&e)),
        }
    }
    let written = writer_task
        .await
        .map_err(|e| BundleError::Registry(e.to_string()))?;
    if let Some(e) = error {
        return Err(BundleError::Invalid {
            what: format!("docker load of {name}"),
            why: e,
        });
    }
    written.map_err(|e| BundleError::Invalid {
        what: format!("docker load of {name}"),
        why: e.to_string(),
    })?;
    Ok((
        (),
        Outcome::Created,
        format!("loaded ({})", human_bytes(total)),
    ))
}

/// The node image into Docker by pulling it from the local registry (loopback, no network):
/// unlike `docker load`, a pull records the digest kind asks for.
async fn node_image_into_docker(
    docker: &Docker,
    reference: &str,
    step: &Step,
) -> Result<((), Outcome, String), BundleError> {
    let present = crate::docker::pull::local_image_id(docker, reference)
        .await
        .map_err(|e| BundleError::Registry(e.to_string()))?;
    if present.is_some() {
        return Ok((
            (),
            Outcome::Unchanged,
            format!("{reference} present in Docker"),
        ));
    }
    crate::docker::pull::ensure_image(docker, reference, step)
        .await
        .map_err(|e| BundleError::Registry(e.to_string()))?;
    Ok(((), Outcome::Created, reference.to_string()))
}
