//! The CA's ClusterIssuer against cert-manager's real CRD (v1.21.1) in a real
//! API server (crd-apiserver): accepted as kindling writes it, rejected when the
//! field the CRD requires is missing (so the check can fail).

mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kindling::tls::cluster;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};

#[test]
fn cluster_issuer_is_accepted_by_the_real_cert_manager_crd() {
    let Some(crd_path) =
        support::upstream("cert-manager/v1.21.1/crds/cert-manager.io_clusterissuers.yaml")
    else {
        return;
    };
    let Some(server) = support::CrdApiserver::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = server.client().await;
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&std::fs::read_to_string(crd_path).unwrap()).unwrap();
        let params = PatchParams::apply("kindling-test").force();
        Api::<CustomResourceDefinition>::all(client.clone())
            .patch(
                "clusterissuers.cert-manager.io",
                &params,
                &Patch::Apply(&crd),
            )
            .await
            .unwrap();
        let gvk = GroupVersionKind::gvk("cert-manager.io", "v1", "ClusterIssuer");
        let api: Api<DynamicObject> = Api::all_with(
            client,
            &ApiResource::from_gvk_with_plural(&gvk, "clusterissuers"),
        );
        let issuer: DynamicObject = serde_json::from_value(cluster::cluster_issuer()).unwrap();
        // Right after the CRD is created it may not be served yet: retry briefly.
        let mut last = None;
        for _ in 0..50 {
            match api
                .patch(
                    cluster::CLUSTER_ISSUER_NAME,
                    &params,
                    &Patch::Apply(&issuer),
                )
                .await
            {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(last.is_none(), "ClusterIssuer rejected: {last:?}");
        let stored = api.get(cluster::CLUSTER_ISSUER_NAME).await.unwrap();
        assert_eq!(
            stored.data["spec"]["ca"]["secretName"],
            cluster::SECRET_NAME
        );

        let mut broken = cluster::cluster_issuer();
        broken["metadata"]["name"] = "broken".into();
        broken["spec"]["ca"] = serde_json::json!({ "secretNme": "kindling-ca" });
        let broken: DynamicObject = serde_json::from_value(broken).unwrap();
        let err = api
            .patch("broken", &params, &Patch::Apply(&broken))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("secretNme: field not declared in schema"),
            "{err}"
        );
    });
}
