//! Pulling an image, only when it is not already on this machine.

use super::DockerError;
use super::error::{RegistryError, Result};
use crate::report::Step;
use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt;
use std::collections::HashMap;

/// Whether an image had to be pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    pub id: String,
    pub pulled: bool,
}

/// The local image ID of `image`, or None when it is not on this machine.
pub async fn local_image_id(docker: &Docker, image: &str) -> Result<Option<String>> {
    match docker.inspect_image(image).await {
        Ok(inspect) => Ok(inspect.id),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(DockerError::api("inspect image")(e).into()),
    }
}

/// Makes sure `image` is present locally; pulls it (with byte progress) only when missing.
pub async fn ensure_image(docker: &Docker, image: &str, step: &Step) -> Result<LocalImage> {
    if let Some(id) = local_image_id(docker, image).await? {
        return Ok(LocalImage { id, pulled: false });
    }
    let pull_error = |reason: String| RegistryError::Pull {
        image: image.to_string(),
        reason,
    };
    // Without a tag the engine would pull every tag of the repository.
    let reference = with_default_tag(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(&reference)
        .build();
    let mut stream = docker.create_image(Some(options), None, None);
    // Per layer: (bytes so far, layer size); the sum drives one progress bar.
    let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| pull_error(stream_error_text(&e)))?;
        if let (Some(id), Some(detail)) = (&info.id, &info.progress_detail)
            && let (Some(current), Some(total)) = (detail.current, detail.total)
            && info.status.as_deref() == Some("Downloading")
        {
            layers.insert(id.clone(), (current.max(0) as u64, total.max(0) as u64));
            let current: u64 = layers.values().map(|l| l.0).sum();
            let total: u64 = layers.values().map(|l| l.1).sum();
            step.progress_count(format!("pulling {image}"), current, Some(total));
        } else if let Some(status) = &info.status {
            step.progress(format!("pulling {image}: {status}"));
        }
    }
    let id = local_image_id(docker, image)
        .await?
        .ok_or_else(|| pull_error("the engine reported success but the image is absent".into()))?;
    Ok(LocalImage { id, pulled: true })
}

/// `registry` → `registry:latest`; references with a tag or digest stay as they are.
pub fn with_default_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// The engine's own message for stream errors, without bollard's wrapping.
pub(crate) fn stream_error_text(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_default_tag;

    #[test]
    fn default_tag_only_when_missing() {
        assert_eq!(with_default_tag("registry"), "registry:latest");
        assert_eq!(with_default_tag("registry:3"), "registry:3");
        assert_eq!(
            with_default_tag("localhost:5001/demo"),
            "localhost:5001/demo:latest"
        );
        assert_eq!(with_default_tag("a/b@sha256:00"), "a/b@sha256:00");
    }
}
