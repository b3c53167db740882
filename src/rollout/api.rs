//! The Rollout on the API server: get it, and send merge patches byte for byte (the exact
//! bodies the upstream plugin sends), to the main resource or its status subresource.

use super::error::RolloutError;
use kube::api::{Patch, PatchParams};
use serde_json::Value;
use std::future::Future;

pub const GROUP_VERSION: &str = "argoproj.io/v1alpha1";

/// Where rollout control sends its patches: the real API server, or a test wrapper.
pub trait RolloutTarget: Sync {
    fn namespace(&self) -> &str;
    fn name(&self) -> &str;
    fn get(&self) -> impl Future<Output = Result<Value, kube::Error>> + Send;
    /// A JSON merge patch (`application/merge-patch+json`) with exactly `body`.
    fn merge_patch(
        &self,
        subresource: Option<&'static str>,
        body: &str,
    ) -> impl Future<Output = Result<Value, kube::Error>> + Send;
}

/// One Rollout through a kube client.
#[derive(Clone)]
pub struct RolloutApi {
    client: kube::Client,
    namespace: String,
    name: String,
}

impl RolloutApi {
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> RolloutApi {
        RolloutApi {
            client,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn request(&self) -> kube::core::Request {
        kube::core::Request::new(format!(
            "/apis/{GROUP_VERSION}/namespaces/{}/rollouts",
            self.namespace
        ))
    }

    /// Gets the Rollout, mapping 404 to NotFound.
    pub async fn fetch(&self) -> Result<Value, RolloutError> {
        self.get().await.map_err(|e| api_error(self, "get", e))
    }
}

impl RolloutTarget for RolloutApi {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self) -> Result<Value, kube::Error> {
        let req = self
            .request()
            .get(&self.name, &Default::default())
            .map_err(kube::Error::BuildRequest)?;
        self.client.request(req).await
    }

    async fn merge_patch(
        &self,
        subresource: Option<&'static str>,
        body: &str,
    ) -> Result<Value, kube::Error> {
        // kube builds the URL and the merge-patch content type; the body is replaced by the
        // exact text (re-serializing would drop upstream's spacing and key order).
        let placeholder = Patch::Merge(());
        let pp = PatchParams::default();
        let mut req = match subresource {
            Some(sub) => self
                .request()
                .patch_subresource(sub, &self.name, &pp, &placeholder),
            None => self.request().patch(&self.name, &pp, &placeholder),
        }
        .map_err(kube::Error::BuildRequest)?;
        *req.body_mut() = body.as_bytes().to_vec();
        self.client.request(req).await
    }
}

pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

/// An API error about one Rollout: NotFound on 404, else what was being done and why.
pub fn api_error<T: RolloutTarget>(
    target: &T,
    action: &'static str,
    source: kube::Error,
) -> RolloutError {
    if is_not_found(&source) {
        RolloutError::NotFound {
            namespace: target.namespace().into(),
            name: target.name().into(),
        }
    } else {
        RolloutError::Api {
            action,
            namespace: target.namespace().into(),
            name: target.name().into(),
            source: Box::new(source),
        }
    }
}
