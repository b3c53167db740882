//! Every analysis gate of every demo environment can fail, checked on what Argo CD deploys:
//! each environment staged by kindling (`gitops::stage`, the generated layer of each timing
//! profile) and built by the real kustomize. The timing rule, for every metric of every
//! AnalysisTemplate a Rollout uses (canary steps, pre- and post-promotion), with S the
//! ServiceMonitor's scrape interval in the same environment:
//!
//! - `initialDelay` >= 2 × S + 10 s. rate() needs two samples of the new pods. Their target
//!   appears once the pods are ready; Prometheus applies new targets within 5 s in its
//!   discovery manager (discovery/manager.go `updatert`) and within 5 s in its scrape manager
//!   (the reload ticker), the first scrape comes within one interval (each target has its own
//!   offset), the second one interval later. Without it the first measurements answer "no
//!   traffic" — a pass — and with count 5 / failureLimit 3 two such passes let a 50 %-error
//!   canary through (argo-rollouts v1.9.1 analysis/analysis.go: the first measurement is
//!   taken at once unless initialDelay; a metric fails only when failed > failureLimit).
//! - every rate() window >= 4 × S: two samples even when one scrape fails.
//! - scrapeTimeout <= S (Prometheus refuses a longer one) and failureLimit < count (else the
//!   metric can never fail).
//!
//! And production's pre-promotion analysis judges requests someone sent to the preview: the
//! preview has its own host, TLS like every other, and the analysis fails without traffic.

mod support;

use kindling::config::Config;
use kindling::config::Profile;
use kindling::environments::ENVIRONMENTS;
use serde_json::Value;
use std::time::Duration;
use support::environments::{duration, environment, find};

/// Prometheus applies new targets within 5 s in each of its discovery and scrape managers.
const DISCOVERY_SLACK: Duration = Duration::from_secs(10);

/// The AnalysisTemplates a Rollout uses, each with where it is used.
fn used_templates(rollout: &Value) -> Vec<(String, String)> {
    let strategy = &rollout["spec"]["strategy"];
    let mut used = Vec::new();
    let mut add = |analysis: &Value, place: String| {
        for t in analysis["templates"].as_array().into_iter().flatten() {
            used.push((
                t["templateName"].as_str().unwrap().to_string(),
                place.clone(),
            ));
        }
    };
    for (i, step) in strategy["canary"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        add(&step["analysis"], format!("canary step {i}"));
    }
    for phase in ["prePromotionAnalysis", "postPromotionAnalysis"] {
        add(&strategy["blueGreen"][phase], phase.to_string());
    }
    used
}

/// Every `[window]` of a range selector (`...}[1m]`) in a PromQL query.
fn rate_windows(query: &str) -> Vec<Duration> {
    query
        .split("}[")
        .skip(1)
        .filter_map(|rest| rest.split_once(']'))
        .map(|(window, _)| duration(window))
        .collect()
}

#[test]
fn every_analysis_measurement_waits_for_two_scrapes_of_the_new_pods() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let config = Config::builtin();
    let mut checked = 0;
    let mut problems = Vec::new();
    for profile in [Profile::Realistic, Profile::Fast] {
        for env in &ENVIRONMENTS {
            let objects = environment(&kustomize, &config, profile, env.name);
            let sm = &find(&objects, "ServiceMonitor", "demo-app")["spec"]["endpoints"][0];
            let scrape = duration(sm["interval"].as_str().unwrap());
            let timeout = duration(sm["scrapeTimeout"].as_str().unwrap());
            let at = format!("{} ({profile})", env.name);
            if timeout > scrape {
                problems.push(format!(
                    "{at}: scrapeTimeout {timeout:?} > interval {scrape:?}"
                ));
            }
            let rollout = find(&objects, "Rollout", "demo-app");
            for (name, place) in used_templates(rollout) {
                let template = find(&objects, "AnalysisTemplate", &name);
                for m in template["spec"]["metrics"].as_array().unwrap() {
                    let at = format!("{at} {place} {name}/{}", m["name"].as_str().unwrap());
                    checked += 1;
                    let delay = m["initialDelay"].as_str().map_or(Duration::ZERO, duration);
                    let needed = scrape * 2 + DISCOVERY_SLACK;
                    if delay < needed {
                        problems.push(format!(
                            "{at}: initialDelay {delay:?} < 2 × scrape interval {scrape:?} + {DISCOVERY_SLACK:?}: its first measurements see no data and pass"
                        ));
                    }
                    let query = m["provider"]["prometheus"]["query"].as_str().unwrap();
                    let windows = rate_windows(query);
                    assert!(!windows.is_empty(), "{at}: no range selector in {query}");
                    for w in windows {
                        if w < scrape * 4 {
                            problems.push(format!(
                                "{at}: rate window {w:?} < 4 × scrape interval {scrape:?}"
                            ));
                        }
                    }
                    let count = m["count"].as_i64().unwrap_or(0);
                    let limit = m["failureLimit"].as_i64().unwrap_or(0);
                    if count == 0 || limit >= count {
                        problems.push(format!(
                            "{at}: count {count}, failureLimit {limit}: it can never fail"
                        ));
                    }
                }
            }
        }
    }
    assert!(checked >= 2 * 10, "only {checked} metrics checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The fast profile is faster only in what the timing rule allows: its scrape is faster, so
/// its analyses may start sooner, and every environment gets both.
#[test]
fn the_fast_profile_scrapes_faster_and_starts_analyses_sooner() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let config = Config::builtin();
    for env in &ENVIRONMENTS {
        let timing = |profile| {
            let objects = environment(&kustomize, &config, profile, env.name);
            let sm = find(&objects, "ServiceMonitor", "demo-app")["spec"]["endpoints"][0].clone();
            let delays: Vec<Duration> = objects
                .iter()
                .filter(|o| o["kind"] == "AnalysisTemplate")
                .flat_map(|t| t["spec"]["metrics"].as_array().unwrap().clone())
                .map(|m| duration(m["initialDelay"].as_str().unwrap()))
                .collect();
            (duration(sm["interval"].as_str().unwrap()), delays)
        };
        let (realistic_scrape, realistic) = timing(Profile::Realistic);
        let (fast_scrape, fast) = timing(Profile::Fast);
        assert_eq!(realistic_scrape, Duration::from_secs(15), "{}", env.name);
        assert_eq!(fast_scrape, Duration::from_secs(5), "{}", env.name);
        assert!(
            realistic.iter().all(|d| *d == Duration::from_secs(40)),
            "{realistic:?}"
        );
        assert!(
            fast.iter().all(|d| *d == Duration::from_secs(20)),
            "{fast:?}"
        );
    }
}

#[test]
fn production_previews_on_its_own_host_with_the_same_tls() {
    let Some(kustomize) = support::sid_tool("KINDLING_TEST_KUSTOMIZE") else {
        return;
    };
    let mut custom = Config::builtin();
    custom.network.domain = "kindling.test".into();
    for config in [Config::builtin(), custom] {
        let domain = &config.network.domain;
        for env in &ENVIRONMENTS {
            let objects = environment(&kustomize, &config, Profile::Fast, env.name);
            let ingresses: Vec<&Value> =
                objects.iter().filter(|o| o["kind"] == "Ingress").collect();
            let main = find(&objects, "Ingress", "demo-app");
            for ingress in &ingresses {
                let annotations = &ingress["metadata"]["annotations"];
                assert_eq!(
                    annotations, &main["metadata"]["annotations"],
                    "{}: every host gets its certificate the same way",
                    env.name
                );
                assert_eq!(
                    annotations["cert-manager.io/usages"],
                    "digital signature,key encipherment,server auth",
                    "macOS trusts only certificates with the serverAuth EKU"
                );
                assert_eq!(ingress["spec"]["ingressClassName"], "traefik");
                assert_eq!(
                    ingress["spec"]["tls"][0]["hosts"][0],
                    ingress["spec"]["rules"][0]["host"]
                );
            }
            let rollout = find(&objects, "Rollout", "demo-app");
            let Some(prefix) = env.preview_host_prefix else {
                assert_eq!(ingresses.len(), 1, "{}: no preview host", env.name);
                continue;
            };
            let preview = find(&objects, "Ingress", "demo-app-preview");
            let host = format!("{prefix}.{domain}");
            assert_eq!(preview["spec"]["rules"][0]["host"], host.as_str());
            assert_eq!(
                preview["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
                rollout["spec"]["strategy"]["blueGreen"]["previewService"],
                "the preview host reaches the Rollout's preview Service"
            );
            assert_ne!(
                preview["spec"]["tls"][0]["secretName"],
                main["spec"]["tls"][0]["secretName"]
            );
            assert!(
                config.ingress_hosts().contains(&host),
                "{host} is in the hosts block and the URLs"
            );
            // Pre-promotion judges the preview's user requests, and fails without any.
            let pre: Vec<String> = used_templates(rollout)
                .into_iter()
                .filter(|(_, place)| place == "prePromotionAnalysis")
                .map(|(t, _)| t)
                .collect();
            assert_eq!(pre, ["success-rate", "user-traffic"]);
            let traffic = find(&objects, "AnalysisTemplate", "user-traffic");
            let metric = &traffic["spec"]["metrics"][0];
            assert_eq!(metric["successCondition"], "result[0] > 0");
            assert_eq!(
                metric["failureLimit"], 0,
                "every measurement must see traffic"
            );
        }
    }
}
