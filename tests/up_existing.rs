//! `kindling up` and `down` with `cluster.provider = "existing"` on a simulated multi-node
//! cluster that already runs cert-manager, metrics-server, the Prometheus operator CRDs and an
//! nginx IngressClass (tests/existing_support): `up` reuses what exists and says so, installs the
//! rest, exposes Traefik through the load balancer and waits for its address, names the DNS
//! record, pushes to a registry that asks for a login; `down` removes exactly what `up` made.

mod cluster_support;
mod existing_support;
mod push_host_support;
mod support;
mod up_support;

use existing_support::{DOMAIN, LB_ADDRESS, Preinstalled, objects, setup};
use kindling::report::{Event, Outcome};
use serde_json::json;
use up_support::{finished, started};

fn infos(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Info { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_on_an_existing_cluster_reuses_what_it_runs_waits_for_the_address_and_down_removes_exactly_what_up_made()
 {
    let Some(s) = setup(Preinstalled::default()).await else {
        return;
    };
    let before = objects(&s.api);

    let (result, recording) = s.up().await;
    let summary = result.unwrap_or_else(|e| panic!("up failed: {e}: {:?}", recording.events()));
    let events = recording.timed_events();
    let plain: Vec<Event> = events.iter().map(|(_, e)| e.clone()).collect();

    // What the cluster runs is reused, and up says so.
    let said = infos(&plain).join("\n");
    for reused in [
        "reusing cert-manager v1.19.2 in namespace cert-manager",
        "reusing the metrics API",
        "reusing Prometheus operator CRDs 0.93.1",
        "IngressClass nginx found",
    ] {
        assert!(said.contains(reused), "{reused:?} not said:\n{said}");
    }
    let apps: Vec<String> = s
        .api
        .list("argoproj.io/v1alpha1", "Application", Some("argocd"))
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    for absent in ["cert-manager", "metrics-server"] {
        assert!(
            !apps.contains(&absent.to_string()),
            "{absent} installed again: {apps:?}"
        );
    }
    let stack = s
        .api
        .get(
            "argoproj.io/v1alpha1",
            "Application",
            Some("argocd"),
            "kube-prometheus-stack",
        )
        .unwrap();
    assert_eq!(
        stack["spec"]["source"]["helm"]["valuesObject"]["crds"]["enabled"], false,
        "the cluster's Prometheus operator CRDs are not installed over"
    );

    // Traefik is a LoadBalancer on nodes without the ingress-ready label; up waited for the
    // address the load balancer gave (once up watched the traefik Application) before checking
    // DNS and HTTPS.
    let service = s
        .api
        .get("v1", "Service", Some("traefik"), "traefik")
        .unwrap();
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    let assigned = s.lb.0.lock().unwrap().clone();
    let (given_at, _) = assigned
        .iter()
        .find(|(_, svc)| svc == "traefik/traefik")
        .expect("the load balancer gave traefik an address");
    // Argo CD keeps Traefik Progressing until its Service has an address, and the Ingresses
    // until Traefik published it: the platform step waited for the load balancer.
    let (platform_done, _) = finished(&events, "platform").unwrap();
    assert!(
        started(&events, "platform") < *given_at,
        "the address came while up waited"
    );
    assert!(*given_at < platform_done);
    let (address_known, _) = finished(&events, "ingress-address").unwrap();
    assert!(platform_done < address_known);
    assert!(started(&events, "demo-apps") > address_known);
    assert_eq!(summary.ingress_address.as_deref(), Some(LB_ADDRESS));
    let record = format!("*.{DOMAIN} A {LB_ADDRESS}");
    assert_eq!(summary.dns_record.as_deref(), Some(record.as_str()));
    assert!(
        said.contains(&format!("create the DNS record `{record}`")),
        "{said}"
    );
    // Every demo URL answered over HTTPS at the load balancer's address (the stand-in ingress
    // listens on 127.0.0.2 only).
    assert_eq!(finished(&events, "demo-apps").unwrap().1, Outcome::Created);
    for host_side in ["hosts", "tls-trust"] {
        assert_eq!(
            finished(&events, host_side).unwrap().1,
            Outcome::Skipped,
            "{host_side}"
        );
    }

    // Images and manifests went to the push_host registry, with its login; Argo CD reads the
    // artifact there with the same login.
    assert_eq!(summary.registry, s.registry.host());
    let api = s.registry.api();
    assert!(
        api.manifest_digest("demo-app", "v1.0.0")
            .await
            .unwrap()
            .is_some()
    );
    let secret = s
        .api
        .get("v1", "Secret", Some("argocd"), "kindling-manifests")
        .unwrap();
    assert_eq!(secret["stringData"]["username"], s.registry.user);
    assert_eq!(
        secret["stringData"]["url"],
        format!("oci://{}/kindling-manifests", s.registry.host())
    );
    // The CA Secret is where the cluster's cert-manager reads it.
    assert!(
        s.api
            .get("v1", "Secret", Some("cert-manager"), "kindling-ca")
            .is_some()
    );

    // status sees a healthy platform: the reused parts are the cluster's, not missing ones.
    let status =
        kindling::status::collect(&s.settings, &s.env, kindling::status::Options::default()).await;
    let problems = status.problems();
    assert!(problems.is_empty(), "{problems:#?}");
    let components: Vec<&str> = status.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        components,
        ["traefik", "kube-prometheus-stack", "argo-rollouts"]
    );

    // A release goes to the push_host registry too, and knows where the ingress is.
    let reporter: kindling::report::SharedReporter =
        std::sync::Arc::new(kindling::report::NullReporter);
    let ctx =
        kindling::release::ReleaseContext::connect(s.settings.clone(), &s.env, None, reporter)
            .await
            .unwrap();
    assert_eq!(ctx.ingress, Some(LB_ADDRESS.parse().unwrap()));
    let released = kindling::release::release(
        &ctx,
        &kindling::release::ReleaseRequest {
            environment: "staging".into(),
            version: "v1.0.1".into(),
            faults: Default::default(),
            profile: None,
        },
    )
    .await
    .unwrap();
    assert!(
        released
            .image
            .starts_with(&format!("{}/demo-app@sha256:", s.registry.host())),
        "{released:?}"
    );
    assert!(
        api.manifest_digest("demo-app", "v1.0.1")
            .await
            .unwrap()
            .is_some()
    );
    // The scenarios aim their traffic where this platform is: the domain's names at the load
    // balancer's address, trusting kindling's CA, and each answers over HTTPS.
    {
        use kindling::scenario::platform::Platform;
        let platform = kindling::scenario::real::RealPlatform::new(ctx);
        // The ingress stand-in serves while up runs; here it serves the scenario's requests.
        s.ingress.start();
        for (target, host) in [
            (platform.target("staging"), format!("staging-demo.{DOMAIN}")),
            (
                platform.preview_target("production"),
                format!("prod-demo-preview.{DOMAIN}"),
            ),
        ] {
            let target = target.unwrap();
            assert_eq!(target.host, host);
            assert_eq!(
                target.address,
                LB_ADDRESS.parse::<std::net::IpAddr>().unwrap()
            );
            let traffic =
                kindling::traffic::Traffic::start(&target, 20, std::time::Instant::now()).unwrap();
            support::until(
                &format!("{host} to answer"),
                std::time::Duration::from_secs(10),
                || !traffic.samples().is_empty(),
            )
            .await;
            let samples = traffic.stop().await;
            assert!(!samples.iter().any(|s| s.failed()), "{host}: {samples:?}");
        }
        s.ingress.stop().await;
    }

    // A second up converges and records nothing new.
    let inventory = |api: &fake_apiserver::FakeApiServer| {
        api.get("v1", "ConfigMap", Some("kube-public"), "kindling-inventory")
            .map(|c| c["data"]["inventory.json"].clone())
    };
    let recorded = inventory(&s.api).expect("kindling's record");
    let (again, recording) = s.up().await;
    again.unwrap_or_else(|e| panic!("second up failed: {e}: {:?}", recording.events()));
    assert_eq!(inventory(&s.api).unwrap(), recorded);
    assert_eq!(
        finished(&recording.timed_events(), "platform").unwrap().1,
        Outcome::Unchanged
    );

    // down asks first: without --yes it says what it would remove and removes nothing.
    let (refused, _) = s.down(false).await;
    let e = refused.unwrap_err();
    assert!(e.to_string().contains("Argo CD Application"), "{e}");
    assert!(
        e.hints().iter().any(|h| h.contains("--yes")),
        "{:?}",
        e.hints()
    );
    assert!(inventory(&s.api).is_some());

    let (removed, recording) = s.down(true).await;
    removed.unwrap_or_else(|e| panic!("down failed: {e}: {:?}", recording.events()));
    let after = objects(&s.api);
    let left: Vec<_> = after.difference(&before).collect();
    let lost: Vec<_> = before.difference(&after).collect();
    assert!(left.is_empty(), "down left what up made: {left:#?}");
    assert!(
        lost.is_empty(),
        "down removed what kindling did not make: {lost:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_refuses_a_cluster_whose_ingress_class_and_namespace_are_someone_elses_and_makes_nothing()
 {
    let what = Preinstalled {
        // k3s's own Traefik, and a monitoring stack of the team's.
        ingress_classes: vec![("traefik", "traefik.io/ingress-controller")],
        objects: vec![
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "monitoring" } }),
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "team-dashboards", "namespace": "monitoring",
                              "annotations": { "meta.helm.sh/release-name": "team-monitoring" } },
                "data": { "a": "1" }
            }),
        ],
        ..Preinstalled::default()
    };
    let Some(s) = setup(what).await else {
        return;
    };
    let before = objects(&s.api);
    let (result, recording) = s.up().await;
    let e = result.unwrap_err();
    let text = format!("{e} {:?}", e.hints());
    assert!(text.contains("IngressClass traefik"), "{text}");
    assert!(
        text.contains("network.ingress_class = \\\"traefik\\\""),
        "{text}"
    );
    assert!(text.contains("namespace monitoring exists"), "{text}");
    let failed = recording
        .events()
        .into_iter()
        .any(|e| matches!(e, Event::StepFailed { step, .. } if step == "existing"));
    assert!(failed, "the existing step refused");
    assert_eq!(objects(&s.api), before, "nothing was made in the cluster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_clusters_own_ingress_controller_no_traefik_is_installed_and_its_address_is_used()
{
    let what = Preinstalled {
        publishing_class: Some("nginx"),
        ..Preinstalled::default()
    };
    let Some(mut s) = setup(what).await else {
        return;
    };
    s.settings.config.network.ingress_class = "nginx".into();
    let before = objects(&s.api);
    let (result, recording) = s.up().await;
    let summary = result.unwrap_or_else(|e| panic!("up failed: {e}: {:?}", recording.events()));
    let said = infos(&recording.events()).join("\n");
    assert!(
        said.contains("reusing IngressClass nginx (controller k8s.io/ingress-nginx)"),
        "{said}"
    );
    assert!(
        s.api
            .get(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                "traefik"
            )
            .is_none(),
        "no Traefik of kindling's"
    );
    assert!(
        s.api
            .get("v1", "Service", Some("traefik"), "traefik")
            .is_none()
    );
    // Every Ingress kindling made (Argo CD's, the charts') is of the cluster's class, and the
    // address comes from what that controller published.
    let ingresses = s.api.list("networking.k8s.io/v1", "Ingress", None);
    assert!(ingresses.len() >= 3, "{ingresses:?}");
    for ingress in &ingresses {
        assert_eq!(ingress["spec"]["ingressClassName"], "nginx", "{ingress}");
    }
    assert_eq!(summary.ingress_address.as_deref(), Some(LB_ADDRESS));

    let (removed, recording) = s.down(true).await;
    removed.unwrap_or_else(|e| panic!("down failed: {e}: {:?}", recording.events()));
    assert_eq!(objects(&s.api), before, "down removes exactly what up made");
}
