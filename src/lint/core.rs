//! Core Kubernetes objects (and every object's `metadata`), checked with k8s-openapi's typed
//! structs: the object is deserialized into its type and serialized back; a field present in
//! the input but missing from the round trip is a field the type does not declare.
//! (k8s-openapi ignores unknown fields instead of rejecting them, hence the round trip.)
//! Type errors come from the deserializer, with their path. Coverage: the kinds listed in
//! `roundtrip_for`; other core kinds are reported as skipped.

use super::structural::Violation;
use k8s_openapi::api;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

type RoundTrip = fn(&Value) -> Result<Value, Violation>;

/// The round trip for a core kind, if kindling knows it.
pub fn roundtrip_for(api_version: &str, kind: &str) -> Option<RoundTrip> {
    Some(match (api_version, kind) {
        ("v1", "ConfigMap") => roundtrip::<api::core::v1::ConfigMap>,
        ("v1", "Secret") => roundtrip::<api::core::v1::Secret>,
        ("v1", "Service") => roundtrip::<api::core::v1::Service>,
        ("v1", "ServiceAccount") => roundtrip::<api::core::v1::ServiceAccount>,
        ("v1", "Namespace") => roundtrip::<api::core::v1::Namespace>,
        ("v1", "Pod") => roundtrip::<api::core::v1::Pod>,
        ("v1", "PersistentVolumeClaim") => roundtrip::<api::core::v1::PersistentVolumeClaim>,
        ("apps/v1", "Deployment") => roundtrip::<api::apps::v1::Deployment>,
        ("apps/v1", "StatefulSet") => roundtrip::<api::apps::v1::StatefulSet>,
        ("apps/v1", "DaemonSet") => roundtrip::<api::apps::v1::DaemonSet>,
        ("apps/v1", "ReplicaSet") => roundtrip::<api::apps::v1::ReplicaSet>,
        ("batch/v1", "Job") => roundtrip::<api::batch::v1::Job>,
        ("batch/v1", "CronJob") => roundtrip::<api::batch::v1::CronJob>,
        ("networking.k8s.io/v1", "Ingress") => roundtrip::<api::networking::v1::Ingress>,
        ("networking.k8s.io/v1", "IngressClass") => roundtrip::<api::networking::v1::IngressClass>,
        ("networking.k8s.io/v1", "NetworkPolicy") => {
            roundtrip::<api::networking::v1::NetworkPolicy>
        }
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            roundtrip::<api::autoscaling::v2::HorizontalPodAutoscaler>
        }
        ("policy/v1", "PodDisruptionBudget") => roundtrip::<api::policy::v1::PodDisruptionBudget>,
        ("rbac.authorization.k8s.io/v1", "Role") => roundtrip::<api::rbac::v1::Role>,
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => roundtrip::<api::rbac::v1::RoleBinding>,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => roundtrip::<api::rbac::v1::ClusterRole>,
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            roundtrip::<api::rbac::v1::ClusterRoleBinding>
        }
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => {
            roundtrip::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>
        }
        _ => return None,
    })
}

/// Checks a core object: type errors, then undeclared fields.
pub fn check(round: RoundTrip, object: &Value) -> Vec<Violation> {
    match round(object) {
        Ok(back) => undeclared(object, &back, ""),
        Err(v) => vec![v],
    }
}

/// Checks any object's `metadata` as an ObjectMeta (custom resources included: the API
/// server validates metadata apart from the CRD schema).
pub fn check_metadata(object: &Value) -> Vec<Violation> {
    let Some(meta) = object.get("metadata") else {
        return vec![Violation {
            path: ".metadata".into(),
            message: "Required value".into(),
        }];
    };
    let mut out =
        match roundtrip::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>(meta) {
            Ok(back) => undeclared(meta, &back, ".metadata"),
            Err(v) => vec![Violation {
                path: format!(".metadata{}", v.path),
                message: v.message,
            }],
        };
    let named = ["name", "generateName"]
        .iter()
        .any(|k| meta.get(k).is_some_and(|v| v.is_string()));
    if out.is_empty() && !named {
        out.push(Violation {
            path: ".metadata.name".into(),
            message: "Required value".into(),
        });
    }
    out
}

fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, Violation> {
    let typed: T = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        Violation {
            path: if path == "." {
                ".".into()
            } else {
                format!(".{path}")
            },
            message: e.into_inner().to_string(),
        }
    })?;
    Ok(serde_json::to_value(&typed).expect("k8s-openapi types serialize"))
}

/// Fields of `input` that did not survive the round trip (nulls excepted: they mean "unset").
fn undeclared(input: &Value, back: &Value, path: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    match (input, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let sub = format!("{path}.{key}");
                match b.get(key) {
                    Some(bv) => out.extend(undeclared(value, bv, &sub)),
                    None if value.is_null() => {}
                    None => out.push(Violation {
                        path: sub,
                        message: "field not declared in schema".into(),
                    }),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                out.extend(undeclared(x, y, &format!("{path}[{i}]")));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields_and_type_errors_in_core_objects() {
        let svc = roundtrip_for("v1", "Service").unwrap();
        let ok = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
            "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": "http"}]}});
        assert_eq!(check(svc, &ok), vec![]);
        let mut bad = ok.clone();
        bad["spec"]["ports"][0]["prot"] = json!(80);
        bad["spec"]["selectr"] = json!({});
        let got: Vec<String> = check(svc, &bad).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                ".spec.ports[0].prot: field not declared in schema",
                ".spec.selectr: field not declared in schema",
            ]
        );
        let mut typed = ok.clone();
        typed["spec"]["ports"][0]["port"] = json!("eighty");
        let got = check(svc, &typed);
        assert_eq!(got[0].path, ".spec.ports[0].port", "{got:?}");
    }

    #[test]
    fn metadata_needs_a_name_and_known_fields() {
        assert!(
            check_metadata(&json!({"metadata": {"name": "a", "labels": {"x": "y"}}})).is_empty()
        );
        assert_eq!(
            check_metadata(&json!({"metadata": {"labels": {}}}))[0].path,
            ".metadata.name"
        );
        assert_eq!(
            check_metadata(&json!({"metadata": {"name": "a", "label": {}}}))[0].to_string(),
            ".metadata.label: field not declared in schema"
        );
    }
}
