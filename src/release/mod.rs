//! `kindling release <env> <version>`: a new version of the demo app in one environment.
//!
//! 1. The image of that version (faults as build args) is built and pushed; the binary layer
//!    comes from the build cache, so it takes seconds.
//! 2. The manifests artifact is published again with that environment's new image (and
//!    profile); every other environment keeps what its Application records it runs.
//! 3. The environment's Application is pointed at the new artifact digest, its record updated,
//!    and `argocd.argoproj.io/refresh: normal` set so Argo CD looks at once.
//! 4. Returns once Argo CD has synced that revision and the Rollout has observed the new
//!    template (the rollout has started; the scenarios watch the rest).

use crate::config::Profile;
use crate::config::Settings;
use crate::docker::registry_auth::PushTarget;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::k8s::Waiter;
use crate::platform::demo_checks::{self, application_target, rollout_target};
use crate::platform::demo_image::{self, Faults};
use crate::platform::demo_publish;
use crate::platform::gitops::{self, DemoImage, EnvRelease};
use crate::report::{Outcome, ReporterExt, SharedReporter};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

/// Argo CD's annotation that makes it refresh an Application now (DESIGN.md).
pub const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// What a release needs: the settings, the cluster, Docker, and where to report.
#[derive(Clone)]
pub struct ReleaseContext {
    pub settings: Settings,
    pub client: kube::Client,
    pub docker: bollard::Docker,
    pub reporter: SharedReporter,
    /// Where images and manifests go (`platform::push_target`).
    pub push_target: PushTarget,
    /// Existing cluster: the ingress address the platform's names point at (None on kind).
    pub ingress: Option<std::net::IpAddr>,
}

impl ReleaseContext {
    /// Connects to kindling's own cluster (`kubeconfig`: a file that holds its context, instead
    /// of kindling's own; see `cluster::platform_client`), then to Docker.
    pub async fn connect(
        settings: Settings,
        env: &Env,
        kubeconfig: Option<&std::path::Path>,
        reporter: SharedReporter,
    ) -> Result<ReleaseContext> {
        let client = crate::cluster::platform_client::connect(&settings, env, kubeconfig).await?;
        let docker = crate::docker::connect(env, settings.config.timeouts.docker)
            .await
            .map_err(Error::from)?;
        let push_target = crate::platform::push_target::target(&settings.config, env)?;
        let ingress = match settings.config.cluster.provider {
            crate::config::Provider::Existing => Some(ingress_ip(&client, env).await?),
            crate::config::Provider::Kind => None,
        };
        Ok(ReleaseContext {
            settings,
            client,
            docker,
            reporter,
            push_target,
            ingress,
        })
    }
}

/// The address the ingress published (`platform::ingress_address`), as an IP.
async fn ingress_ip(client: &kube::Client, env: &Env) -> Result<std::net::IpAddr> {
    use crate::platform::ingress_address;
    let address = ingress_address::wait(client, std::time::Duration::from_secs(10)).await?;
    ingress_address::ips(env, &address)
        .await
        .ok()
        .and_then(|ips| ips.into_iter().next())
        .ok_or_else(|| {
            Error::failed(
                format!("resolving the ingress address {address}"),
                "it resolves to nothing",
            )
        })
}

/// What to release where.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRequest {
    /// dev, staging or production.
    pub environment: String,
    /// The version (image tag and what the app reports), e.g. "v1.1.0".
    pub version: String,
    pub faults: Faults,
    /// None: keep the environment's current profile.
    pub profile: Option<Profile>,
}

/// What was released.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    pub environment: String,
    pub version: String,
    /// `localhost:<port>/demo-app:<tag>` as pushed (the tag names any faults).
    pub image_tag: String,
    /// What the Rollout runs: `<registry as the nodes see it>/demo-app@sha256:...`.
    pub image: String,
    pub profile: Profile,
    /// The manifests artifact digest the Application now pins.
    pub revision: String,
    /// The revision it pinned before.
    pub previous_revision: Option<String>,
    /// Blue-green only: the preview URL. Its pre-promotion analysis fails (user-traffic) unless
    /// someone calls it, so the caller must say so.
    pub preview_url: Option<String>,
}

/// Releases `req.version` into `req.environment`; see the module comment for the steps.
pub async fn release(ctx: &ReleaseContext, req: &ReleaseRequest) -> Result<Released> {
    let config = &ctx.settings.config;
    let env = crate::environments::environment(&req.environment).ok_or_else(|| {
        Error::usage(
            format!("unknown environment {:?}", req.environment),
            Some("use dev, staging or production".to_string()),
        )
    })?;
    if !crate::config::is_image_tag(&req.version) {
        return Err(Error::usage(
            format!("{:?} is not a valid version (image tag)", req.version),
            Some("use letters, digits, '.', '_' and '-', e.g. v1.1.0".to_string()),
        ));
    }
    let apps: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        crate::platform::applications::ARGOCD_NAMESPACE,
        &demo_checks::application_resource(),
    );
    let app_name = gitops::application_name(env);
    let current = apps
        .get_opt(&app_name)
        .await
        .map_err(|e| Error::context(format!("cannot read Application {app_name}"), e))?
        .ok_or_else(|| {
            Error::failed(
                format!("releasing to {}", env.name),
                format!("Application argocd/{app_name} does not exist"),
            )
            .with_hint("run `kindling up` first")
        })?;
    let previous_revision = current.data["spec"]["source"]["targetRevision"]
        .as_str()
        .map(str::to_string);

    let built = demo_image::build_and_push(
        &ctx.docker,
        config,
        &ctx.push_target,
        &req.version,
        &req.faults,
        &ctx.reporter,
    )
    .await?;

    let registry = &ctx.push_target;
    let fallback = EnvRelease {
        version: config.demo.version.clone(),
        image: DemoImage::for_release(config, &config.demo.version),
        profile: config.demo.profile,
    };
    let mut releases =
        demo_publish::current_releases(&ctx.client, registry, &fallback, &ctx.reporter).await?;
    let profile = req.profile.unwrap_or_else(|| {
        releases
            .get(env.name)
            .map_or(config.demo.profile, |r| r.profile)
    });
    let new = EnvRelease {
        version: req.version.clone(),
        image: DemoImage::for_release(config, &built.digest),
        profile,
    };
    releases.insert(env.name.to_string(), new.clone());
    let published = demo_publish::publish(config, registry, &releases, &ctx.reporter).await?;
    let revision = published.digest.clone();
    let image = format!("{}@{}", new.image.repository, new.image.tag);

    let step = ctx.reporter.step(
        &format!("release:{}", env.name),
        &format!("Release {} to {}", req.version, env.name),
    );
    let result = async {
        let mut patch = json!({
            "metadata": { "annotations": { REFRESH_ANNOTATION: "normal" } },
            "spec": { "source": { "targetRevision": revision } }
        });
        gitops::record_release(&mut patch, &new);
        apps.patch(&app_name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| Error::context(format!("cannot update Application {app_name}"), e))?;
        let waiter = Waiter::new(ctx.client.clone());
        let timeout = config.timeouts.component;
        step.progress(format!("waiting for Argo CD to sync {revision}"));
        waiter
            .wait(
                application_target(env),
                demo_checks::application_synced_revision(&revision),
                timeout,
            )
            .await?;
        step.progress(format!(
            "waiting for the Rollout to start rolling out {image}"
        ));
        waiter
            .wait(
                rollout_target(env),
                demo_checks::rollout_started(&image),
                timeout,
            )
            .await?;
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => {
            let outcome = if previous_revision.as_deref() == Some(revision.as_str()) {
                Outcome::Unchanged
            } else {
                Outcome::Changed
            };
            step.finish(outcome, Some(format!("{image} ({revision})")));
        }
        Err(e) => {
            step.fail(&e);
            return Err(e);
        }
    }
    Ok(Released {
        environment: env.name.to_string(),
        version: req.version.clone(),
        image_tag: built.reference,
        image,
        profile,
        revision,
        previous_revision,
        preview_url: env
            .preview_host_prefix
            .map(|prefix| demo_checks::url(config, prefix)),
    })
}
