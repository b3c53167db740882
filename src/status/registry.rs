//! The registry part: the local registry and each pull-through cache, as
//! `kindling registry status` sees them; unknown (with why) when Docker cannot be asked.

use super::READ_TIMEOUT;
use super::model::RegistryPart;
use crate::config::Config;
use crate::docker;
use crate::env::Env;

pub async fn collect(config: &Config, env: &Env) -> RegistryPart {
    if crate::platform::push_target::uses_push_host(config) {
        // No local registry: images and manifests live in registry.push_host.
        return RegistryPart {
            containers: Vec::new(),
            problem: None,
        };
    }
    let unknown = |why: String| RegistryPart {
        containers: Vec::new(),
        problem: Some(why),
    };
    let client = match docker::connect(env, config.timeouts.docker).await {
        Ok(client) => client,
        Err(e) => return unknown(crate::error::one_line(&e)),
    };
    // Each container is inspected and pinged (3 s each); bound the whole part.
    let limit = config.timeouts.docker + READ_TIMEOUT;
    match tokio::time::timeout(limit, docker::status::status(&client, config)).await {
        Ok(Ok(containers)) => RegistryPart {
            containers,
            problem: None,
        },
        Ok(Err(e)) => unknown(crate::error::one_line(&e)),
        Err(_) => unknown(format!(
            "no answer: timed out after {}",
            crate::report::format_duration(limit)
        )),
    }
}
