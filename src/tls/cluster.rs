//! The CA as the cluster sees it: a TLS Secret in cert-manager's namespace and
//! a ClusterIssuer that signs every Ingress certificate with it.
//! (cert-manager looks up a ClusterIssuer's secret in its "cluster resource
//! namespace", which is the namespace cert-manager runs in: `cert-manager`.)

use super::ca::Ca;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "cert-manager";
pub const SECRET_NAME: &str = "kindling-ca";
pub const CLUSTER_ISSUER_NAME: &str = "kindling-ca";

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        "kindling".to_string(),
    )])
}

/// `kubernetes.io/tls` Secret `cert-manager/kindling-ca` holding the CA's
/// certificate and key (the only place the key leaves the data dir).
pub fn ca_secret(ca: &Ca) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(SECRET_NAME.into()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(labels()),
            ..Default::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (
                "tls.crt".to_string(),
                ByteString(ca.cert_pem.clone().into_bytes()),
            ),
            ("tls.key".to_string(), ByteString(ca.key_pem().into_bytes())),
        ])),
        ..Default::default()
    }
}

/// ClusterIssuer `kindling-ca` (cert-manager.io/v1) backed by the Secret above.
/// Ingresses use it with the annotation `cert-manager.io/cluster-issuer: kindling-ca`.
pub fn cluster_issuer() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": { "name": CLUSTER_ISSUER_NAME, "labels": labels() },
        "spec": { "ca": { "secretName": SECRET_NAME } },
    })
}
