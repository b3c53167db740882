//! `registry.push_host` on an existing cluster: the demo image (through the Docker engine) and
//! the manifests artifact (through the registry API) go to a registry that asks for a login —
//! a second local registry container with htpasswd auth — with the login from the Docker config;
//! without it, or with a wrong one, kindling stops before building and says what to do.

mod push_host_support;
mod support;

use kindling::config::{Config, Provider};
use kindling::env::Env;
use kindling::platform::demo_image::Faults;
use kindling::platform::gitops::{self, DemoImage, EnvRelease};
use kindling::platform::{demo_image, demo_publish, push_target};
use kindling::report::{NullReporter, SharedReporter};
use push_host_support::AuthRegistry;
use std::sync::Arc;

fn config(registry: &AuthRegistry, dir: &std::path::Path) -> Config {
    let mut config = Config::builtin();
    config.cluster.provider = Provider::Existing;
    config.cluster.context = "team".into();
    config.network.domain = "platform.example.test".into();
    config.registry.push_host = registry.host();
    config.registry.plain_http = true;
    let binary = dir.join("demo-app-binary");
    std::fs::write(
        &binary,
        "#!/bin/false\n# stand-in for the demo-app binary (push_host)\n",
    )
    .unwrap();
    config.demo.binary = binary.display().to_string();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_image_and_the_manifests_go_to_a_push_host_that_asks_for_a_login() {
    let Some(registry) = AuthRegistry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config(&registry, dir.path());
    let env = Env::from_pairs([(
        "DOCKER_CONFIG",
        registry.docker_config(dir.path()).display().to_string(),
    )]);
    let target = push_target::target(&config, &env).unwrap();
    let login = target
        .credentials
        .as_ref()
        .expect("the login from the Docker config");
    assert_eq!(login.username, registry.user);
    push_target::check_login(&target).await.unwrap();

    let reporter: SharedReporter = Arc::new(NullReporter);
    let docker =
        kindling::docker::connect(&Env::from_process(), std::time::Duration::from_secs(15))
            .await
            .unwrap();
    let built = demo_image::build_and_push(
        &docker,
        &config,
        &target,
        &config.demo.version,
        &Faults::default(),
        &reporter,
    )
    .await
    .unwrap();
    assert_eq!(
        built.reference,
        format!("{}/demo-app:v1.0.0", registry.host())
    );
    let release = EnvRelease {
        version: config.demo.version.clone(),
        image: DemoImage::for_release(&config, &built.digest),
        profile: config.demo.profile,
    };
    assert_eq!(
        release.image.repository,
        format!("{}/demo-app", registry.host())
    );
    let published = demo_publish::publish(
        &config,
        &target,
        &gitops::same_everywhere(&release),
        &reporter,
    )
    .await
    .unwrap();

    // Both are in the registry, readable with the login only.
    let api = registry.api();
    assert_eq!(
        api.manifest_digest("demo-app", "v1.0.0").await.unwrap(),
        Some(built.digest.clone())
    );
    assert_eq!(
        api.manifest_digest(gitops::ARTIFACT_REPO, &published.digest)
            .await
            .unwrap(),
        Some(published.digest.clone())
    );
    let anonymous = kindling::docker::registry_api::RegistryApi::local(registry.port);
    let refused = anonymous
        .manifest_digest("demo-app", "v1.0.0")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");

    // A second push of the same image leaves the registry unchanged.
    let again = demo_image::build_and_push(
        &docker,
        &config,
        &target,
        &config.demo.version,
        &Faults::default(),
        &reporter,
    )
    .await
    .unwrap();
    assert_eq!(again.digest, built.digest);
    assert_eq!(again.outcome, kindling::report::Outcome::Unchanged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_login_or_with_a_wrong_one_kindling_stops_before_building_and_says_what_to_do() {
    let Some(registry) = AuthRegistry::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&registry, dir.path());
    // An empty Docker config: no login anywhere.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let env = Env::from_pairs([("DOCKER_CONFIG", empty.display().to_string())]);
    let target = push_target::target(&config, &env).unwrap();
    assert!(target.credentials.is_none());
    let e = push_target::check_login(&target).await.unwrap_err();
    assert!(e.to_string().contains("refused the login"), "{e}");
    assert!(
        e.hints()
            .iter()
            .any(|h| h.contains(&format!("docker login {}", registry.host()))
                && h.contains("no login")),
        "{:?}",
        e.hints()
    );

    // A wrong password from the environment's settings (which win over the Docker config).
    config.credentials.registry_username = registry.user.clone();
    config.credentials.registry_password = "wrong".into();
    let target = push_target::target(&config, &env).unwrap();
    let e = push_target::check_login(&target).await.unwrap_err();
    assert!(e.to_string().contains("refused the login"), "{e}");
    assert!(
        e.hints()
            .iter()
            .any(|h| h.contains("credentials.registry_username")),
        "{:?}",
        e.hints()
    );
    assert!(
        !format!("{e:?}").contains("wrong"),
        "the password is never shown"
    );
}
