//! Where the platform's names must point on an existing cluster: the address the ingress
//! controller published into kindling's Ingresses (the load balancer's IP or host name, or
//! `network.ingress_address` on node ports), the DNS record that makes `*.<domain>` reach it,
//! and the check that the names resolve there before anything waits for HTTPS.
//!
//! `KINDLING_RESOLVE` (`name=address,...`, a name may be `*.<domain>`) stands in for DNS, like
//! curl's `--resolve`: for a record not yet visible from this machine, and for tests.

use crate::config::Config;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::k8s::{Condition, Target, Verdict, Waiter};
use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The ingress's public address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Address {
    Ip(IpAddr),
    /// A load balancer known by name (AWS ELB): the record is a CNAME.
    Hostname(String),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Hostname(h) => f.write_str(h),
        }
    }
}

impl Address {
    /// What an Ingress (or Service) status says: `status.loadBalancer.ingress[0]`.
    pub fn from_status(status: &serde_json::Value) -> Option<Address> {
        let first = &status["loadBalancer"]["ingress"][0];
        if let Some(ip) = first["ip"].as_str().and_then(|ip| ip.parse().ok()) {
            return Some(Address::Ip(ip));
        }
        first["hostname"]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(|h| Address::Hostname(h.to_string()))
    }

    /// The DNS record to create: `*.<domain>` A/AAAA (or CNAME) → the address.
    pub fn record(&self, domain: &str) -> String {
        match self {
            Address::Ip(IpAddr::V4(ip)) => format!("*.{domain} A {ip}"),
            Address::Ip(IpAddr::V6(ip)) => format!("*.{domain} AAAA {ip}"),
            Address::Hostname(h) => format!("*.{domain} CNAME {h}"),
        }
    }
}

/// The Ingress whose status `up` reads the address from: Grafana's (kube-prometheus-stack 88.5.3
/// names it `<release>-grafana`), which every configuration has, whichever controller serves it.
pub const PROBE_INGRESS: (&str, &str) = ("monitoring", "kube-prometheus-stack-grafana");

/// The Ingress has an address in its status (its controller published it).
pub fn published() -> Condition {
    Condition::new("an address in status.loadBalancer.ingress", |o| match o {
        None => Verdict::Pending("it does not exist yet".into()),
        Some(o) => match Address::from_status(&o.data["status"]) {
            Some(_) => Verdict::Done,
            None => Verdict::Pending(
                "no address yet: the load balancer has not given the ingress controller's \
                 Service one"
                    .into(),
            ),
        },
    })
}

/// Waits for the probe Ingress's address.
pub async fn wait(client: &kube::Client, timeout: Duration) -> Result<Address> {
    let target = Target::of::<k8s_openapi::api::networking::v1::Ingress>(
        Some(PROBE_INGRESS.0),
        PROBE_INGRESS.1,
    );
    let found = Waiter::new(client.clone())
        .wait(target, published(), timeout)
        .await
        .map_err(|e| {
            Error::from(e).with_hint(
                "the ingress controller's Service has no external address: does the cluster \
                 have a load balancer (`kubectl -n traefik get service traefik`)? Without one, \
                 use network.ingress_service = \"NodePort\" with network.ingress_address",
            )
        })?;
    found
        .and_then(|o| Address::from_status(&o.data["status"]))
        .ok_or_else(|| Error::failed("reading the ingress address", "the status has none"))
}

/// `KINDLING_RESOLVE`: name (or `*.<domain>`) → address.
fn overrides(env: &Env) -> Vec<(String, IpAddr)> {
    env.get("KINDLING_RESOLVE")
        .unwrap_or_default()
        .split(',')
        .filter_map(|entry| {
            let (name, ip) = entry.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), ip.trim().parse().ok()?))
        })
        .collect()
}

/// The addresses a name resolves to (`KINDLING_RESOLVE` first, then the system's resolver).
pub async fn resolve(env: &Env, name: &str) -> std::result::Result<BTreeSet<IpAddr>, String> {
    let name = name.to_ascii_lowercase();
    let pinned = pinned(env, &name);
    if !pinned.is_empty() {
        return Ok(pinned);
    }
    tokio::net::lookup_host((name.as_str(), 443))
        .await
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .map_err(|e| e.to_string())
}

/// What `KINDLING_RESOLVE` says `name` (lowercase) resolves to.
fn pinned(env: &Env, name: &str) -> BTreeSet<IpAddr> {
    overrides(env)
        .into_iter()
        .filter(|(pattern, _)| match pattern.strip_prefix("*.") {
            Some(domain) => name
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => pattern == name,
        })
        .map(|(_, ip)| ip)
        .collect()
}

/// The IPs the address stands for (a host name is resolved).
pub async fn ips(env: &Env, address: &Address) -> std::result::Result<BTreeSet<IpAddr>, String> {
    match address {
        Address::Ip(ip) => Ok([*ip].into()),
        Address::Hostname(h) => resolve(env, h).await,
    }
}

/// Waits until every platform name resolves to the address; progress names the record to make.
pub async fn wait_for_dns(
    config: &Config,
    env: &Env,
    address: &Address,
    timeout: Duration,
    progress: &(dyn Fn(String) + Sync),
) -> Result<()> {
    let record = address.record(&config.network.domain);
    let pointing = crate::retry::retry(
        timeout,
        Duration::from_secs(2),
        || async {
            let want = ips(env, address).await.unwrap_or_default();
            let mut wrong = Vec::new();
            for host in config.ingress_hosts() {
                match resolve(env, &host).await {
                    Ok(found) if !want.is_empty() && !found.is_disjoint(&want) => {}
                    Ok(found) => wrong.push(format!(
                        "{host} resolves to {}",
                        found
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Err(e) => wrong.push(format!("{host} does not resolve ({e})")),
                }
            }
            if wrong.is_empty() { Ok(()) } else { Err(wrong) }
        },
        |wrong: &Vec<String>| {
            progress(format!("waiting for DNS: create `{record}` ({})", wrong[0]));
            true
        },
    )
    .await;
    pointing.map_err(|wrong| {
        Error::failed(
            format!("DNS for *.{}", config.network.domain),
            format!("not pointing at {address}: {}", wrong.join("; ")),
        )
        .with_hint(format!(
            "create the DNS record `{record}` (at your DNS provider), wait for it to \
             propagate, then run `kindling up` again"
        ))
    })
}

/// Where HTTPS to the platform's names goes: the address's first IP on `https_port`.
pub async fn socket(env: &Env, config: &Config, address: &Address) -> Result<SocketAddr> {
    let ips = ips(env, address)
        .await
        .map_err(|e| Error::failed(format!("resolving {address}"), e))?;
    let ip = ips
        .into_iter()
        .next()
        .ok_or_else(|| Error::failed(format!("resolving {address}"), "no address"))?;
    Ok(SocketAddr::new(ip, config.network.https_port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_address_comes_from_the_status_as_ip_or_host_name() {
        let ip = json!({ "loadBalancer": { "ingress": [{ "ip": "203.0.113.7" }] } });
        assert_eq!(
            Address::from_status(&ip)
                .unwrap()
                .record("platform.example.com"),
            "*.platform.example.com A 203.0.113.7"
        );
        let elb =
            json!({ "loadBalancer": { "ingress": [{ "hostname": "a1.elb.amazonaws.com" }] } });
        assert_eq!(
            Address::from_status(&elb).unwrap().record("p.example.com"),
            "*.p.example.com CNAME a1.elb.amazonaws.com"
        );
        assert_eq!(Address::from_status(&json!({ "loadBalancer": {} })), None);
    }

    #[tokio::test]
    async fn a_wildcard_override_stands_in_for_the_dns_record() {
        let env = Env::from_pairs([(
            "KINDLING_RESOLVE",
            "*.platform.example.com=127.0.0.2, one.example.org=127.0.0.3",
        )]);
        let found = resolve(&env, "Demo.Platform.Example.com").await.unwrap();
        assert_eq!(found, ["127.0.0.2".parse::<IpAddr>().unwrap()].into());
        assert_eq!(pinned(&env, "one.example.org").len(), 1);
        // The wildcard covers names under the domain, not the domain itself or look-alikes.
        assert!(pinned(&env, "platform.example.com").is_empty());
        assert!(pinned(&env, "demo.otherplatform.example.com").is_empty());
    }
}
