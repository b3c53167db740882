//! Step: the demo environments. The repository Secret and the AppProject first, then the three
//! Applications (pinned to the artifact just published, each annotated with what it runs) —
//! `gitops::apply_phases`; after the platform (metrics-server among it: the production HPA
//! needs the metrics API) and the registry wiring. Then each Application Synced at that
//! revision and settled, each Rollout Healthy or awaiting promotion (production pauses for a
//! manual promote after every release: that is settled, and the step says so), and each
//! environment's URL answering over HTTPS with kindling's CA (straight to 127.0.0.1, so no
//! hosts file or system trust is needed).

use super::UpContext;
use crate::environments::ENVIRONMENTS;
use crate::k8s::{self, Waiter};
use crate::pipeline::Pipeline;
use crate::platform::demo_checks::{self, application_target, rollout_target};
use crate::platform::gitops;
use futures::FutureExt;

pub(super) fn add(p: &mut Pipeline<UpContext>) {
    p.step(
        "demo-apps",
        "Demo environments (dev, staging, production)",
        &[
            "ca-issuer",
            "publish",
            "platform",
            "wire",
            "ingress-address",
        ],
        |ctx, step| {
            async move {
                let config = &ctx.settings.config;
                let (revision, releases) = ctx
                    .published
                    .get()
                    .ok_or_else(|| crate::Error::failed("up", "the publish step has not run"))?;
                let mut objects = gitops::argocd_objects_for(config, revision, releases);
                if crate::platform::push_target::uses_push_host(config)
                    && let Some(login) = &ctx.push_target().await?.credentials
                {
                    // Argo CD reads the artifact with the login kindling pushed it with.
                    gitops::with_repository_login(&mut objects, &login.username, &login.password);
                }
                let (needed, applications) = gitops::apply_phases(objects);
                let needed = k8s::from_values(needed, "demo repository and project")?;
                let applications = k8s::from_values(applications, "demo Applications")?;
                let applier = ctx.applier()?;
                ctx.record(applier, &[needed.clone(), applications.clone()].concat())
                    .await?;
                let mut report = applier.apply(&needed, &step).await?;
                let apps = applier.apply(&applications, &step).await?;
                report.objects.extend(apps.objects);

                let waiter = Waiter::new(ctx.cluster()?.client.clone());
                let names: Vec<String> =
                    ENVIRONMENTS.iter().map(gitops::application_name).collect();
                step.progress(format!(
                    "waiting for {} to sync {revision}",
                    names.join(", ")
                ));
                let apps = ENVIRONMENTS
                    .iter()
                    .map(|env| {
                        (
                            application_target(env),
                            demo_checks::application_synced_at(revision),
                        )
                    })
                    .collect();
                waiter.wait_all(apps, config.timeouts.component).await?;

                step.progress("waiting for the Rollouts to be Healthy (or awaiting promotion)");
                let rollouts = ENVIRONMENTS.iter().map(|env| {
                    waiter.wait(
                        rollout_target(env),
                        demo_checks::rollout_settled(),
                        config.timeouts.rollout,
                    )
                });
                let settled = futures::future::try_join_all(rollouts).await?;
                let waiting: Vec<String> = ENVIRONMENTS
                    .iter()
                    .zip(&settled)
                    .filter_map(|(env, ro)| {
                        demo_checks::settled_note(env.name, ro.as_ref())
                            .map(|note| format!("{}: {note}", env.name))
                    })
                    .collect();

                let urls: Vec<String> = ENVIRONMENTS
                    .iter()
                    .map(|env| demo_checks::url(config, env.host_prefix))
                    .collect();
                step.progress(format!("checking {} over HTTPS", urls.join(", ")));
                let address = ctx
                    .ingress
                    .get()
                    .ok_or_else(|| crate::Error::failed("up", "the ingress step has not run"))?;
                let socket =
                    crate::platform::ingress_address::socket(&ctx.env, config, address).await?;
                let ca = crate::platform::applications::uses_local_ca(config)
                    .then(|| ctx.ca().map(|ca| ca.cert_der()))
                    .transpose()?;
                let client = demo_checks::https_client_at(config, socket, ca)?;
                let checks = urls
                    .iter()
                    .map(|url| demo_checks::wait_https(&client, url, config.timeouts.component));
                futures::future::try_join_all(checks).await?;
                let mut detail = format!("{}; {} answer over HTTPS", report.summary(), urls.len());
                for note in &waiting {
                    detail.push_str(&format!("; {note}"));
                }
                Ok((report.outcome(), Some(detail)))
            }
            .boxed()
        },
    );
}
