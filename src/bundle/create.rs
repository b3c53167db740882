//! `bundle create`: from a platform that is up, everything it needs, in one file.

use super::archive::{self, BundleWriter, Progress};
use super::charts::{self, FetchedChart};
use super::error::{BundleError, human_bytes};
use super::files::{self, LocalFile};
use super::images::{self, ImageRef};
use super::manifest::{
    self, BundleManifest, Entry, FORMAT, ImageRecord, ImageRole, MANIFEST_PATH, ManifestRef,
    OCI_INDEX_PATH, OCI_LAYOUT_PATH, blob_path,
};
use super::oci::{self, Parsed};
use super::platform::Platform;
use super::upstream::Registries;
use crate::config::Settings;
use crate::env::Env;
use crate::report::{Outcome, ReporterExt, SharedReporter, Step};
use futures::{StreamExt, TryStreamExt};
use oci_client::Reference;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What to pack.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub out: PathBuf,
    /// Image platforms (workshop laptops may be Apple silicon and x86).
    pub platforms: Vec<Platform>,
    /// Hosts to include the kind CLI for.
    pub hosts: Vec<Platform>,
    /// Images no pod runs right now but the platform needs (e.g. a Helm hook Job's image,
    /// deleted once it succeeded).
    pub extra_images: Vec<String>,
    pub allow_unpinned: bool,
    /// kindling's release assets, to pack kindling for each of `hosts`.
    pub release_dir: Option<PathBuf>,
}

/// A written bundle.
#[derive(Debug, Clone)]
pub struct Created {
    pub path: PathBuf,
    pub manifest: BundleManifest,
    pub file_bytes: u64,
    /// Images kind preloads into the node image (left to it), with a pod that runs each.
    pub preloaded: BTreeMap<String, String>,
}

/// Where an entry's bytes come from while the file is written.
enum Source {
    Memory(Vec<u8>),
    Remote(Reference),
    File(PathBuf),
}

/// Everything resolved before a byte is written: the manifest and each entry's source.
struct Plan {
    images: Vec<ImageRecord>,
    /// Manifest bytes (small), by digest.
    manifests: HashMap<String, Vec<u8>>,
    /// Config and layer blobs: where to fetch each, and its size.
    blobs: HashMap<String, (Reference, u64)>,
    charts: Vec<FetchedChart>,
    files: Vec<LocalFile>,
}

fn finish<T>(step: Step, result: Result<(T, String), BundleError>) -> Result<T, BundleError> {
    match result {
        Ok((value, detail)) => {
            step.finish(Outcome::Done, Some(detail));
            Ok(value)
        }
        Err(e) => {
            step.fail(&e);
            Err(e)
        }
    }
}

pub async fn create(
    settings: &Settings,
    env: &Env,
    reporter: &SharedReporter,
    options: &CreateOptions,
) -> Result<Created, BundleError> {
    let config = &settings.config;
    let local_host = format!("127.0.0.1:{}", config.registry.host_port);
    let registries = Registries::new(env, std::slice::from_ref(&local_host))?;
    // A missing or altered release asset is known before anything is fetched.
    let mut releases = Vec::new();
    if let Some(dir) = &options.release_dir {
        for host in &options.hosts {
            releases.push(files::kindling_release(dir, host).await?);
        }
    }

    let step = reporter.step("bundle.platform", "Images the running platform uses");
    let result = platform_images(settings, env, options).await;
    let (wanted, preloaded) = finish(step, result)?;

    let step = reporter.step(
        "bundle.images",
        &format!(
            "Image manifests for {}",
            options
                .platforms
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let result = resolve_all(
        &registries,
        config,
        &local_host,
        &wanted,
        &options.platforms,
        &step,
    )
    .await;
    let (images, manifests, blobs) = finish(step, result)?;

    let step = reporter.step("bundle.charts", "Helm charts the platform pins");
    let result = async {
        let sources = charts::sources(&crate::platform::applications::all(config));
        let mut fetched = Vec::new();
        for source in &sources {
            step.progress(format!("{} {}", source.name, source.version));
            fetched.push(charts::fetch(&registries, source).await?);
        }
        let detail = sources
            .iter()
            .map(|s| format!("{} {}", s.name, s.version))
            .collect::<Vec<_>>()
            .join(", ");
        Ok((fetched, detail))
    }
    .await;
    let charts = finish(step, result)?;

    let step = reporter.step(
        "bundle.files",
        if !releases.is_empty() {
            "kind CLI, kindling and Argo CD's install.yaml"
        } else {
            "kind CLI and Argo CD's install.yaml"
        },
    );
    let result = async {
        let mut list = Vec::new();
        for host in &options.hosts {
            step.progress(format!("kind {} for {host}", config.cluster.kind_version));
            list.push(files::kind_cli(settings, env, host, &step).await?);
        }
        list.extend(releases);
        list.push(files::argocd_install(settings, options.allow_unpinned).await?);
        let detail = list
            .iter()
            .map(|f| f.record.path.trim_start_matches("files/").to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Ok((list, detail))
    }
    .await;
    let files = finish(step, result)?;

    let plan = Plan {
        images,
        manifests,
        blobs,
        charts,
        files,
    };
    let step = reporter.step("bundle.write", &format!("Write {}", options.out.display()));
    let result = write(&registries, &plan, options, settings, reporter).await;
    let result = result.map(|(m, b)| {
        let detail = format!("{} in {} entries", human_bytes(b), m.entries.len() + 1);
        ((m, b), detail)
    });
    let (manifest, file_bytes) = finish(step, result)?;
    Ok(Created {
        path: options.out.clone(),
        manifest,
        file_bytes,
        preloaded,
    })
}

/// The platform's images (from the cluster's pods, plus `--image`), the node image and the
/// registry image.
async fn platform_images(
    settings: &Settings,
    env: &Env,
    options: &CreateOptions,
) -> Result<
    (
        (Vec<(ImageRef, ImageRole)>, BTreeMap<String, String>),
        String,
    ),
    BundleError,
> {
    let config = &settings.config;
    let no_platform = |why: String| BundleError::NoPlatform { why };
    // kindling's own cluster context only (never the user's current one).
    let client = crate::cluster::platform_client::connect(settings, env, None)
        .await
        .map_err(|e| no_platform(crate::error::one_line(&e)))?;
    let kubeconfig = format!("context kind-{}", config.cluster.name);
    let events = images::list_events(client.clone())
        .await
        .unwrap_or_default();
    let pods = images::list_pods(client).await.map_err(|e| {
        no_platform(format!(
            "cannot list the cluster's pods ({kubeconfig}): {e}"
        ))
    })?;
    if pods.is_empty() {
        return Err(no_platform(format!(
            "cluster {} runs no pods",
            config.cluster.name
        )));
    }
    let found = images::from_pods(&pods);
    if let Some((image, pod)) = found.invalid.first() {
        return Err(BundleError::Invalid {
            what: format!("pod {pod}"),
            why: format!("image {image:?} is not a reference"),
        });
    }
    let local: Vec<String> = vec![
        config.registry_host(),
        format!("127.0.0.1:{}", config.registry.host_port),
        format!("{}:5000", config.registry.name),
    ];
    let role = |r: &ImageRef| {
        if local.contains(&r.registry) {
            ImageRole::Local
        } else {
            ImageRole::Platform
        }
    };
    let mut wanted: Vec<(ImageRef, ImageRole)> =
        found.images.keys().map(|r| (r.clone(), role(r))).collect();
    // Images pulled for pods that are gone (a Helm hook's Job), unless a pod runs that tag.
    let gone: Vec<ImageRef> =
        images::from_events(&events)
            .into_iter()
            .filter(|e| {
                !found.images.keys().any(|r| {
                    r.registry == e.registry && r.repository == e.repository && r.tag == e.tag
                }) && !found.preloaded.contains_key(&e.name())
            })
            .collect();
    for r in &gone {
        wanted.push((r.clone(), role(r)));
    }
    for extra in &options.extra_images {
        let r = ImageRef::parse(extra).map_err(|why| BundleError::Invalid {
            what: "--image".into(),
            why,
        })?;
        let role = role(&r);
        wanted.push((r, role));
    }
    for (text, role) in [
        (&config.cluster.node_image, ImageRole::Node),
        (&config.registry.image, ImageRole::Registry),
    ] {
        let r = ImageRef::parse(text).map_err(|why| BundleError::Invalid {
            what: "configuration".into(),
            why,
        })?;
        wanted.push((r, role));
    }
    let detail = format!(
        "{} image(s) in {} pod(s), {} more pulled for pods that are gone; {} preloaded in the node image",
        found.images.len(),
        pods.len(),
        gone.len(),
        found.preloaded.len()
    );
    Ok(((wanted, found.preloaded), detail))
}

type Resolved = (
    Vec<ImageRecord>,
    HashMap<String, Vec<u8>>,
    HashMap<String, (Reference, u64)>,
);

async fn resolve_all(
    registries: &Registries,
    config: &crate::config::Config,
    local_host: &str,
    wanted: &[(ImageRef, ImageRole)],
    platforms: &[Platform],
    step: &Step,
) -> Result<(Resolved, String), BundleError> {
    let results: Vec<_> = futures::stream::iter(wanted.iter().map(|(image, role)| {
        let source_registry = match role {
            ImageRole::Local => local_host.to_string(),
            _ => image.registry.clone(),
        };
        async move {
            step.progress(image.name());
            resolve(
                registries,
                config,
                &source_registry,
                image,
                *role,
                platforms,
            )
            .await
        }
    }))
    .buffered(4)
    .try_collect()
    .await?;
    let mut images = Vec::new();
    let mut manifests = HashMap::new();
    let mut blobs = HashMap::new();
    for (record, m, b) in results {
        images.push(record);
        manifests.extend(m);
        for (digest, source) in b {
            blobs.entry(digest).or_insert(source);
        }
    }
    let detail = format!(
        "{} image(s), {} distinct blob(s)",
        images.len(),
        blobs.len()
    );
    Ok(((images, manifests, blobs), detail))
}

/// The platform of a single-platform image, from its config blob.
fn config_platform(config: &[u8]) -> Option<Platform> {
    let v: serde_json::Value = serde_json::from_slice(config).ok()?;
    Some(Platform {
        os: v["os"].as_str()?.to_string(),
        architecture: v["architecture"].as_str()?.to_string(),
        variant: v["variant"].as_str().map(str::to_string),
    })
}

type ResolvedImage = (
    ImageRecord,
    Vec<(String, Vec<u8>)>,
    Vec<(String, (Reference, u64))>,
);

/// One image: its manifests for the requested platforms, and the blobs they need. Fetched from
/// the upstream (or `KINDLING_BUNDLE_UPSTREAMS`), not from the pull-through caches: the caches
/// publish no host port (only the cluster reaches them, by name on the `kind` network), and a
/// pull by digest gives the same bytes; the caches do keep a second `up` of the machine that
/// makes the bundle off the network.
async fn resolve(
    registries: &Registries,
    config: &crate::config::Config,
    source_registry: &str,
    image: &ImageRef,
    role: ImageRole,
    platforms: &[Platform],
) -> Result<ResolvedImage, BundleError> {
    let reference = registries.reference(source_registry, &image.repository, &image.reference());
    let top = registries.manifest(&reference).await?;
    let missing = |platform: &Platform, available: Vec<String>| match role {
        ImageRole::Local => BundleError::DemoPlatform {
            image: format!("{}/{}", config.registry_host(), image.repository),
            platform: platform.to_string(),
            available,
        },
        _ => BundleError::MissingPlatform {
            image: image.name(),
            platform: platform.to_string(),
            available,
        },
    };
    let bad = |why: String| BundleError::Upstream {
        what: image.name(),
        reason: why,
    };
    let mut manifests = Vec::new();
    let mut blobs = Vec::new();
    let mut refs = Vec::new();
    let mut add_image = |digest: &str,
                         body: &[u8],
                         platform: Option<Platform>,
                         media_type: String|
     -> Result<(), BundleError> {
        let Parsed::Image { config, layers } = oci::parse(&media_type, body).map_err(bad)? else {
            return Err(bad(format!("{digest} is an index inside an index")));
        };
        for blob in std::iter::once(&config).chain(&layers) {
            blobs.push((blob.digest.clone(), (reference.clone(), blob.size)));
        }
        refs.push(ManifestRef {
            media_type,
            digest: digest.to_string(),
            size: body.len() as u64,
            platform,
        });
        manifests.push((digest.to_string(), body.to_vec()));
        Ok(())
    };
    let digest = match oci::parse(&top.media_type, &top.body).map_err(bad)? {
        Parsed::Index(list) => {
            let mut keep = Vec::new();
            for platform in platforms {
                let entry = list
                    .iter()
                    .find(|d| {
                        d.attests.is_none()
                            && d.platform.as_ref().is_some_and(|p| {
                                platform.matches(&p.os, &p.architecture, p.variant.as_deref())
                            })
                    })
                    .ok_or_else(|| {
                        missing(
                            platform,
                            list.iter()
                                .filter(|d| d.attests.is_none())
                                .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                                .collect(),
                        )
                    })?;
                if !keep.contains(&entry) {
                    keep.push(entry);
                }
            }
            // Build attestations (SBOM, provenance) travel with the images they describe.
            let attestations: Vec<_> = list
                .iter()
                .filter(|d| {
                    d.attests
                        .as_ref()
                        .is_some_and(|a| keep.iter().any(|k| &k.digest == a))
                })
                .collect();
            for entry in keep.iter().chain(&attestations) {
                let child = registries
                    .manifest(&reference.clone_with_digest(entry.digest.clone()))
                    .await?;
                add_image(
                    &entry.digest,
                    &child.body,
                    entry.platform.clone(),
                    child.media_type.clone(),
                )?;
            }
            let kept: Vec<String> = keep
                .iter()
                .chain(&attestations)
                .map(|d| d.digest.clone())
                .collect();
            // A registry refuses an index whose manifests it lacks: a bundle holding only some
            // platforms serves the index reduced to them (children byte for byte as upstream).
            let body = if kept.len() == list.len() {
                top.body.to_vec()
            } else {
                oci::reduced_index(&top.body, &kept).map_err(bad)?
            };
            let digest = oci::sha256_digest(&body);
            refs.push(ManifestRef {
                media_type: top.media_type.clone(),
                digest: digest.clone(),
                size: body.len() as u64,
                platform: None,
            });
            manifests.push((digest.clone(), body));
            digest
        }
        Parsed::Image {
            config: image_config,
            ..
        } => {
            let config_bytes = registries
                .blob_bytes(&reference, &image_config.digest)
                .await?;
            let platform = config_platform(&config_bytes)
                .ok_or_else(|| bad("its config names no os/architecture".into()))?;
            for wanted in platforms {
                if !wanted.matches(
                    &platform.os,
                    &platform.architecture,
                    platform.variant.as_deref(),
                ) {
                    return Err(missing(wanted, vec![platform.to_string()]));
                }
            }
            add_image(
                &top.digest,
                &top.body,
                Some(platform),
                top.media_type.clone(),
            )?;
            top.digest.clone()
        }
    };
    let record = ImageRecord {
        name: image.name(),
        role,
        registry: if role == ImageRole::Local {
            "local".into()
        } else {
            image.registry.clone()
        },
        repository: image.repository.clone(),
        tag: image.tag.clone(),
        upstream_digest: top.digest.clone(),
        digest,
        manifests: refs,
        blobs: {
            let mut list: Vec<String> = blobs.iter().map(|(d, _)| d.clone()).collect();
            list.dedup();
            let mut seen = std::collections::HashSet::new();
            list.retain(|d| seen.insert(d.clone()));
            list
        },
    };
    Ok((record, manifests, blobs))
}

/// The OCI layout's index.json: each image's top manifest, named.
fn oci_index(images: &[ImageRecord], charts: &[FetchedChart]) -> Vec<u8> {
    let mut list: Vec<serde_json::Value> = images
        .iter()
        .filter_map(|i| {
            let top = i.manifests.last()?;
            Some(serde_json::json!({
                "mediaType": top.media_type, "digest": i.digest, "size": top.size,
                "annotations": { "org.opencontainers.image.ref.name": i.name, "io.containerd.image.name": i.name }
            }))
        })
        .collect();
    for c in charts {
        let name = format!(
            "{}/{}:{}",
            charts::LOCAL_PATH,
            c.source.name,
            oci::helm_tag(&c.source.version)
        );
        list.push(serde_json::json!({
            "mediaType": oci::OCI_MANIFEST, "digest": oci::sha256_digest(&c.manifest), "size": c.manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": name }
        }));
    }
    serde_json::to_vec(
        &serde_json::json!({ "schemaVersion": 2, "mediaType": oci::OCI_INDEX, "manifests": list }),
    )
    .expect("index serializes")
}

fn hex(digest: &str) -> String {
    digest.trim_start_matches("sha256:").to_string()
}

/// Lays out the entries, checks the disk, and writes the file.
async fn write(
    registries: &Registries,
    plan: &Plan,
    options: &CreateOptions,
    settings: &Settings,
    reporter: &SharedReporter,
) -> Result<(BundleManifest, u64), BundleError> {
    let mut entries: Vec<(Entry, Source)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let memory = |entries: &mut Vec<(Entry, Source)>, path: String, bytes: Vec<u8>| {
        let sha256 = crate::platform::fetch::sha256_hex(&bytes);
        entries.push((
            Entry {
                path,
                size: bytes.len() as u64,
                sha256,
            },
            Source::Memory(bytes),
        ));
    };
    memory(
        &mut entries,
        OCI_LAYOUT_PATH.into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    memory(
        &mut entries,
        OCI_INDEX_PATH.into(),
        oci_index(&plan.images, &plan.charts),
    );
    for image in &plan.images {
        for m in &image.manifests {
            if seen.insert(m.digest.clone()) {
                let bytes = plan.manifests[&m.digest].clone();
                memory(&mut entries, blob_path(&m.digest), bytes);
            }
        }
        for digest in &image.blobs {
            if seen.insert(digest.clone()) {
                let (reference, size) = plan.blobs[digest].clone();
                entries.push((
                    Entry {
                        path: blob_path(digest),
                        size,
                        sha256: hex(digest),
                    },
                    Source::Remote(reference),
                ));
            }
        }
    }
    for chart in &plan.charts {
        for bytes in [&chart.tgz, &chart.config, &chart.manifest] {
            let digest = oci::sha256_digest(bytes);
            if seen.insert(digest.clone()) {
                memory(&mut entries, blob_path(&digest), bytes.clone());
            }
        }
    }
    for file in &plan.files {
        entries.push((
            Entry {
                path: file.record.path.clone(),
                size: file.size,
                sha256: file.sha256.clone(),
            },
            Source::File(file.local.clone()),
        ));
    }
    let manifest = BundleManifest {
        format: FORMAT.into(),
        kindling_version: env!("CARGO_PKG_VERSION").into(),
        created: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        pins: manifest::pins(&settings.config),
        platforms: options.platforms.clone(),
        hosts: options.hosts.clone(),
        images: plan.images.clone(),
        charts: plan.charts.iter().map(FetchedChart::record).collect(),
        files: plan.files.iter().map(|f| f.record.clone()).collect(),
        entries: entries.iter().map(|(e, _)| e.clone()).collect(),
    };
    let missing = manifest.missing_blobs();
    if !missing.is_empty() {
        return Err(BundleError::Incomplete {
            path: options.out.clone(),
            missing,
        });
    }
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    let total = archive::tar_size(
        std::iter::once(manifest_bytes.len() as u64).chain(entries.iter().map(|(e, _)| e.size)),
    );
    archive::check_space(&out_dir(&options.out), total)?;

    let progress = Progress::new(
        reporter.clone(),
        "bundle.write",
        "writing",
        manifest_bytes.len() as u64 + manifest.content_bytes(),
    );
    let mut writer = BundleWriter::create(&options.out, progress).await?;
    let sha = crate::platform::fetch::sha256_hex(&manifest_bytes);
    writer
        .append(
            MANIFEST_PATH,
            manifest_bytes.len() as u64,
            Some(&sha),
            0o644,
            manifest_bytes.as_slice(),
        )
        .await?;
    for (entry, source) in entries {
        let mode = files::mode(&entry.path);
        let data: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match source {
            Source::Memory(bytes) => Box::new(std::io::Cursor::new(bytes)),
            Source::File(path) => {
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(BundleError::io("cannot read", &path))?;
                Box::new(tokio::io::BufReader::new(file))
            }
            Source::Remote(reference) => {
                let digest = format!("sha256:{}", entry.sha256);
                let stream = registries.blob(&reference, &digest).await?;
                Box::new(tokio_util::io::StreamReader::new(stream))
            }
        };
        writer
            .append(&entry.path, entry.size, Some(&entry.sha256), mode, data)
            .await?;
    }
    let path = writer.finish().await?;
    let bytes = tokio::fs::metadata(&path)
        .await
        .map(|m| m.len())
        .unwrap_or(total);
    Ok((manifest, bytes))
}

fn out_dir(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
