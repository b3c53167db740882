//! The OCI and Docker manifest formats a bundle reads (just the fields it needs), and the
//! Helm chart artifact it writes: Helm's OCI layout is one config blob
//! (`application/vnd.cncf.helm.config.v1+json`, the Chart.yaml metadata as JSON) and one
//! layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`, the .tgz byte for byte), as
//! `helm push` writes and `helm pull` — which Argo CD's repo-server runs — reads
//! (helm pkg/registry/constants.go).

use super::platform::Platform;
use serde_json::{Value, json};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Every manifest type a bundle copies (OCI and Docker schema 2).
pub const ACCEPT: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// `sha256:<hex>`.
pub fn sha256_digest(data: &[u8]) -> String {
    crate::docker::oci::sha256_digest(data)
}

/// A descriptor as manifests carry them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub platform: Option<Platform>,
    /// Buildx attestations (`vnd.docker.reference.type: attestation-manifest`) ride along with
    /// the image they describe.
    pub attests: Option<String>,
}

fn descriptor(v: &Value) -> Option<Descriptor> {
    let platform = v.get("platform").and_then(|p| {
        Some(Platform {
            os: p.get("os")?.as_str()?.to_string(),
            architecture: p.get("architecture")?.as_str()?.to_string(),
            variant: p.get("variant").and_then(Value::as_str).map(str::to_string),
        })
    });
    let annotations = v.get("annotations");
    let attests = annotations
        .filter(|a| a["vnd.docker.reference.type"] == "attestation-manifest")
        .and_then(|a| a["vnd.docker.reference.digest"].as_str())
        .map(str::to_string);
    Some(Descriptor {
        media_type: v.get("mediaType")?.as_str()?.to_string(),
        digest: v.get("digest")?.as_str()?.to_string(),
        size: v.get("size")?.as_u64()?,
        platform,
        attests,
    })
}

/// The parts of a manifest or index a copy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Index(Vec<Descriptor>),
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// Parses manifest bytes of the given media type (an index's or manifest's own `mediaType`
/// field wins when the registry's Content-Type is vague).
pub fn parse(media_type: &str, body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let media_type = v["mediaType"].as_str().unwrap_or(media_type);
    if is_index(media_type) || (v.get("manifests").is_some() && v.get("layers").is_none()) {
        let list = v["manifests"]
            .as_array()
            .ok_or("an index without manifests")?;
        let list = list
            .iter()
            .map(|m| descriptor(m).ok_or_else(|| format!("a malformed index entry: {m}")))
            .collect::<Result<_, _>>()?;
        return Ok(Parsed::Index(list));
    }
    let config = descriptor(&v["config"]).ok_or("a manifest without a valid config")?;
    let layers = v["layers"]
        .as_array()
        .ok_or("a manifest without layers")?
        .iter()
        .map(|l| descriptor(l).ok_or_else(|| format!("a malformed layer: {l}")))
        .collect::<Result<_, _>>()?;
    Ok(Parsed::Image { config, layers })
}

/// The manifest's own media type, else what the registry said.
pub fn media_type_of(served: &str, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            served
                .split(';')
                .next()
                .unwrap_or(served)
                .trim()
                .to_string()
        })
}

/// An index with only the entries kept, other fields as they were; for a bundle that holds
/// some of an image's platforms (a registry refuses an index whose manifests it lacks).
pub fn reduced_index(body: &[u8], keep: &[String]) -> Result<Vec<u8>, String> {
    let mut v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let list = v["manifests"]
        .as_array_mut()
        .ok_or("an index without manifests")?;
    list.retain(|m| {
        m["digest"]
            .as_str()
            .is_some_and(|d| keep.iter().any(|k| k == d))
    });
    serde_json::to_vec(&v).map_err(|e| e.to_string())
}

/// A Helm chart as an OCI artifact: (config bytes, manifest bytes). Deterministic: the same
/// .tgz gives the same manifest digest on every load.
pub fn helm_chart(tgz: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let chart_yaml = chart_yaml(tgz)?;
    let meta: Value =
        serde_saphyr::from_str(&chart_yaml).map_err(|e| format!("Chart.yaml: {e}"))?;
    let name = meta["name"]
        .as_str()
        .ok_or("Chart.yaml has no name")?
        .to_string();
    let version = meta["version"]
        .as_str()
        .ok_or("Chart.yaml has no version")?
        .to_string();
    let config = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": HELM_CONFIG, "digest": sha256_digest(&config), "size": config.len() },
        "layers": [{ "mediaType": HELM_CONTENT, "digest": sha256_digest(tgz), "size": tgz.len() }],
        "annotations": {
            "org.opencontainers.image.title": name,
            "org.opencontainers.image.version": version
        }
    });
    Ok((
        config,
        serde_json::to_vec(&manifest).map_err(|e| e.to_string())?,
    ))
}

/// `<chart>/Chart.yaml` from a packaged chart.
pub fn chart_yaml(tgz: &[u8]) -> Result<String, String> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    for entry in archive.entries().map_err(|e| format!("not a .tgz: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a .tgz: {e}"))?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path.components().count() == 2 && path.ends_with("Chart.yaml") {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|e| e.to_string())?;
            return Ok(text);
        }
    }
    Err("no <chart>/Chart.yaml in the package".into())
}

/// Helm stores a version's `+` as `_` in OCI tags (OCI tags allow no `+`).
pub fn helm_tag(version: &str) -> String {
    version.replace('+', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_lists_platforms_and_attestations() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":10,"platform":{"os":"linux","architecture":"amd64"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":11,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":12,"platform":{"os":"unknown","architecture":"unknown"},
           "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:aa"}}]}"#;
        let Parsed::Index(list) = parse("application/json", body).unwrap() else {
            panic!()
        };
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[1].platform.as_ref().unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(list[2].attests.as_deref(), Some("sha256:aa"));
        let reduced = reduced_index(body, &["sha256:aa".into(), "sha256:cc".into()]).unwrap();
        let Parsed::Index(kept) = parse(OCI_INDEX, &reduced).unwrap() else {
            panic!()
        };
        assert_eq!(
            kept.iter().map(|d| d.digest.as_str()).collect::<Vec<_>>(),
            ["sha256:aa", "sha256:cc"]
        );
    }

    #[test]
    fn a_manifest_names_its_config_and_layers() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
          "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c0","size":5},
          "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:l1","size":7}]}"#;
        let Parsed::Image { config, layers } = parse("", body).unwrap() else {
            panic!()
        };
        assert_eq!(config.digest, "sha256:c0");
        assert_eq!(layers[0].size, 7);
        assert!(parse("", b"{}").is_err());
        assert_eq!(media_type_of("text/plain", body), DOCKER_MANIFEST);
    }

    #[test]
    fn a_packaged_chart_becomes_helms_oci_artifact() {
        let Some(shared) = std::env::var_os("KINDLING_SHARED_DIR") else {
            return;
        };
        let tgz =
            std::fs::read(std::path::Path::new(&shared).join("upstream/charts/traefik-41.3.0.tgz"))
                .unwrap();
        let (config, manifest) = helm_chart(&tgz).unwrap();
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(config["name"], "traefik");
        assert_eq!(config["version"], "41.3.0");
        let m: Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(m["config"]["mediaType"], HELM_CONFIG);
        assert_eq!(m["layers"][0]["mediaType"], HELM_CONTENT);
        assert_eq!(m["layers"][0]["digest"], sha256_digest(&tgz));
        assert_eq!(helm_chart(&tgz).unwrap().1, manifest, "deterministic");
    }
}
