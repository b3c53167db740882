//! Step: on an existing cluster, what it already runs and what kindling does about each part
//! (`platform::adopt`): reuse it and say so, install its own, or refuse with what to do. The
//! decisions and the namespaces kindling is about to create are recorded in the cluster
//! (`platform::inventory`) before anything is made, so `down` can undo exactly that. On kind
//! kindling owns the cluster: everything is installed.

use super::UpContext;
use crate::config::{Config, IngressService, Provider};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::platform::adopt::{self, Plan};
use crate::platform::inventory::{self, Inventory, Recorder};
use crate::report::{Outcome, ReporterExt};
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "existing",
        "Existing cluster: what it runs, what kindling adds",
        &["cluster"],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                if config.cluster.provider != Provider::Existing {
                    let _ = ctx.plan.set(Plan::install_everything(config));
                    return Ok((Outcome::Skipped, Some("kind: kindling owns the cluster".into())));
                }
                requirements(config)?;
                if config.network.manage_hosts {
                    ctx.reporter.warn(
                        "network.manage_hosts: the hosts block maps names to 127.0.0.1, which is \
                         not where an existing cluster's ingress is; kindling leaves the hosts \
                         file alone here",
                        Some("create the DNS record `up` names instead".into()),
                    );
                }
                let client = ctx.cluster()?.client.clone();
                step.progress("reading kindling's record and what the cluster runs");
                let record = match inventory::load(&client).await? {
                    Some(record) if record.cluster != config.cluster.name => {
                        return Err(Error::failed(
                            "the existing cluster",
                            format!(
                                "kindling's record in it (ConfigMap {}/{}) belongs to cluster.name {:?}, not {:?}",
                                inventory::NAMESPACE,
                                inventory::NAME,
                                record.cluster,
                                config.cluster.name
                            ),
                        )
                        .with_hint(format!(
                            "use cluster.name = {:?} (the configuration that made it), or `kindling down` with it first",
                            record.cluster
                        )));
                    }
                    Some(record) => record,
                    None => Inventory::new(&config.cluster.name),
                };
                let found = adopt::detect(&client).await?;
                let plan = adopt::decide(config, &found, &record)?;
                for (component, what) in &plan.reused {
                    ctx.reporter.info(format!("reusing {what} ({component})"));
                }
                for note in &plan.notes {
                    ctx.reporter.info(note.clone());
                }
                let recorder = Recorder::new(client, record);
                recorder
                    .update(|i| {
                        i.namespaces.extend(plan.new_namespaces.iter().cloned());
                        i.installed.extend(plan.installed.iter().cloned());
                        i.adopted.extend(plan.reused.clone());
                    })
                    .await?;
                let detail = format!(
                    "installs {}; reuses {}",
                    list(plan.installed.iter()),
                    list(plan.reused.keys())
                );
                let _ = ctx.plan.set(plan);
                let _ = ctx.recorder.set(recorder);
                Ok((Outcome::Done, Some(detail)))
            }
            .boxed()
        },
    );
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.map(String::as_str).collect();
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

/// What the existing provider needs of the configuration.
fn requirements(config: &Config) -> Result<()> {
    let network = &config.network;
    let domain = &network.domain;
    if domain == "localhost"
        || domain == "local"
        || domain.ends_with(".localhost")
        || domain.ends_with(".local")
    {
        return Err(Error::failed(
            "network.domain",
            format!(
                "{domain:?} names this machine (or its local network), not an existing cluster's \
                 load balancer"
            ),
        )
        .with_hint(
            "set network.domain to a domain whose DNS you control, e.g. \
             --set network.domain=platform.example.com; `up` then names the record to create",
        ));
    }
    if network.ingress_service == IngressService::NodePort {
        if network.ingress_address.is_empty()
            && crate::platform::applications::adopted_ingress_class(config).is_none()
        {
            return Err(Error::failed(
                "network.ingress_service = \"NodePort\"",
                "network.ingress_address is empty: kindling cannot know which address reaches \
                 your nodes from where your users are",
            )
            .with_hint("set network.ingress_address to a node's address (or a load balancer in front of the node ports)"));
        }
        for (key, port) in [
            ("network.http_port", network.http_port),
            ("network.https_port", network.https_port),
        ] {
            if !(30000..=32767).contains(&port) {
                return Err(Error::failed(
                    key,
                    format!("{port} is not a node port (Kubernetes' default range is 30000-32767)"),
                )
                .with_hint("e.g. --set network.http_port=30080 --set network.https_port=30443"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_cluster_needs_a_real_domain_and_node_ports_need_an_address() {
        let mut config = Config::builtin();
        config.cluster.provider = Provider::Existing;
        let e = requirements(&config).unwrap_err();
        assert!(e.to_string().contains("network.domain"), "{e}");
        config.network.domain = "platform.example.com".into();
        requirements(&config).unwrap();
        config.network.ingress_service = IngressService::NodePort;
        assert!(
            requirements(&config)
                .unwrap_err()
                .to_string()
                .contains("ingress_address")
        );
        config.network.ingress_address = "203.0.113.10".into();
        assert!(
            requirements(&config)
                .unwrap_err()
                .to_string()
                .contains("not a node port")
        );
        config.network.http_port = 30080;
        config.network.https_port = 30443;
        requirements(&config).unwrap();
    }
}
