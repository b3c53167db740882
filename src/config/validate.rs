//! Value rules: what the schema's types alone cannot say.

use super::error::shown;
use super::timeouts::{self, Problem};
use super::{ConfigIssue, Origin};

fn get<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let (section, name) = key.split_once('.')?;
    table.get(section)?.as_table()?.get(name)
}

fn str_of<'a>(table: &'a toml::Table, key: &str) -> &'a str {
    get(table, key)
        .and_then(toml::Value::as_str)
        .unwrap_or_default()
}

/// A DNS label: 1–63 of [a-z0-9-], not starting or ending with '-'.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS name: dot-separated labels, at most 253 characters.
pub fn is_dns_name(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A release version as the pins write it: the whole string is SemVer 2.0
/// (`MAJOR.MINOR.PATCH[-pre][+build]`, identifiers of [0-9A-Za-z-] only), with a leading `v`
/// exactly when `with_v`. Versions become parts of cache paths and download URLs, so nothing
/// else (no '/', no '..', no shell characters) may pass.
pub fn is_release_version(s: &str, with_v: bool) -> bool {
    let bare = if with_v { s.strip_prefix('v') } else { Some(s) };
    bare.is_some_and(|v| s.len() <= 128 && semver::Version::parse(v).is_ok())
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_image_tag(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `host[:port][/path]`, as a registry push target is written (`ghcr.io/my-team`).
fn is_registry_path(s: &str) -> bool {
    let (authority, path) = s.split_once('/').unwrap_or((s, ""));
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => authority,
    };
    is_dns_name(host)
        && (path.is_empty()
            || path.split('/').all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            }))
}

fn is_container_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

pub(super) fn check(
    table: &toml::Table,
    origin: &dyn Fn(&str) -> Origin,
    issues: &mut Vec<ConfigIssue>,
) {
    let mut fail = |key: &str, message: String, hint: &str| {
        issues.push(ConfigIssue {
            origin: origin(key),
            message,
            hint: Some(hint.to_string()),
        })
    };

    let name = str_of(table, "cluster.name");
    if !is_dns_label(name) {
        fail(
            "cluster.name",
            format!("cluster.name {} is not a DNS label", shown(name)),
            "use 1-63 lowercase letters, digits and '-', e.g. name = \"kindling\"",
        );
    }
    let provider = str_of(table, "cluster.provider");
    if !matches!(provider, "kind" | "existing") {
        fail(
            "cluster.provider",
            format!(
                "cluster.provider {} is not a known provider",
                shown(provider)
            ),
            "use \"kind\" (kindling creates the cluster) or \"existing\" (with kubeconfig and context)",
        );
    }
    if provider == "existing" {
        if str_of(table, "cluster.context").is_empty() {
            // Blame the line that chose "existing": that is where the user looks.
            fail(
                "cluster.provider",
                "cluster.provider = \"existing\" needs cluster.context".into(),
                "set context to the kube context of your cluster (see `kubectl config get-contexts`)",
            );
        }
        let kubeconfig = str_of(table, "cluster.kubeconfig");
        if !kubeconfig.is_empty() && !std::path::Path::new(kubeconfig).is_file() {
            fail(
                "cluster.kubeconfig",
                format!("cluster.kubeconfig {} does not exist", shown(kubeconfig)),
                "give the path of a kubeconfig file, or \"\" for $KUBECONFIG / ~/.kube/config",
            );
        }
    }
    let kind_version = str_of(table, "cluster.kind_version");
    if !is_release_version(kind_version, true) {
        fail(
            "cluster.kind_version",
            format!(
                "cluster.kind_version {} is not a release tag",
                shown(kind_version)
            ),
            "use a kind release tag such as \"v0.33.0\"",
        );
    }
    let node_image = str_of(table, "cluster.node_image");
    if node_image.is_empty() || node_image.contains(char::is_whitespace) {
        fail(
            "cluster.node_image",
            format!(
                "cluster.node_image {} is not an image reference",
                shown(node_image)
            ),
            "e.g. kindest/node:v1.36.4@sha256:<digest>",
        );
    }
    if let Some(w) = get(table, "cluster.workers").and_then(toml::Value::as_integer)
        && !(0..=9).contains(&w)
    {
        fail(
            "cluster.workers",
            format!("cluster.workers must be 0-9, got {w}"),
            "a laptop runs 0-2 workers well",
        );
    }

    if !is_container_name(str_of(table, "registry.name")) {
        fail(
            "registry.name",
            format!(
                "registry.name {} is not a valid container name",
                shown(str_of(table, "registry.name"))
            ),
            "use letters, digits, '_', '.', '-', starting with a letter or digit",
        );
    }
    let image = str_of(table, "registry.image");
    if image.is_empty() || image.contains(char::is_whitespace) {
        fail(
            "registry.image",
            format!("registry.image {} is not an image reference", shown(image)),
            "e.g. image = \"registry:3\"",
        );
    }
    let mut seen = Vec::new();
    for mirror in get(table, "registry.mirrors")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
    {
        let host = mirror.as_str().unwrap_or_default();
        if !host.contains('.') || !is_dns_name(host) {
            fail(
                "registry.mirrors",
                format!(
                    "registry.mirrors: {} is not a registry host name",
                    shown(host)
                ),
                "list upstream registry hosts, e.g. [\"docker.io\", \"quay.io\"]",
            );
        } else if seen.contains(&host) {
            fail(
                "registry.mirrors",
                format!("registry.mirrors lists {} twice", shown(host)),
                "list each upstream once",
            );
        }
        seen.push(host);
    }
    let cluster_host = str_of(table, "registry.cluster_host");
    if !cluster_host.is_empty() {
        let host = cluster_host
            .rsplit_once(':')
            .map_or(cluster_host, |(h, p)| {
                if p.parse::<u16>().is_ok() {
                    h
                } else {
                    cluster_host
                }
            });
        if !is_dns_name(host) {
            fail(
                "registry.cluster_host",
                format!(
                    "registry.cluster_host {} is not host[:port]",
                    shown(cluster_host)
                ),
                "e.g. cluster_host = \"registry.example.internal:5000\"",
            );
        }
    }

    let push_host = str_of(table, "registry.push_host");
    if !push_host.is_empty() && !is_registry_path(push_host) {
        fail(
            "registry.push_host",
            format!("registry.push_host {push_host:?} is not host[:port][/path]"),
            "e.g. push_host = \"registry.example.com:5000\" or \"ghcr.io/my-team\"",
        );
    }
    let service = str_of(table, "network.ingress_service");
    if !matches!(service, "LoadBalancer" | "NodePort") {
        fail(
            "network.ingress_service",
            format!("network.ingress_service {service:?} is not a Service type kindling uses"),
            "use \"LoadBalancer\" (the cluster's load balancer) or \"NodePort\"",
        );
    }
    for key in ["network.ingress_class", "network.cluster_issuer"] {
        let value = str_of(table, key);
        if !value.is_empty() && !is_dns_name(value) {
            fail(
                key,
                format!("{key} {value:?} is not a Kubernetes object name"),
                "use the name as `kubectl get ingressclass` / `kubectl get clusterissuer` shows it",
            );
        }
    }
    let address = str_of(table, "network.ingress_address");
    if !address.is_empty() && address.parse::<std::net::IpAddr>().is_err() && !is_dns_name(address)
    {
        fail(
            "network.ingress_address",
            format!("network.ingress_address {address:?} is not an IP address or host name"),
            "e.g. ingress_address = \"203.0.113.10\"",
        );
    }

    let mut ports: Vec<(&str, i64)> = Vec::new();
    for key in [
        "registry.host_port",
        "network.http_port",
        "network.https_port",
    ] {
        let Some(port) = get(table, key).and_then(toml::Value::as_integer) else {
            continue;
        };
        if !(1..=65535).contains(&port) {
            fail(
                key,
                format!("{key} must be a port number 1-65535, got {port}"),
                "pick a free TCP port",
            );
        } else if let Some((other, _)) = ports.iter().find(|(_, p)| *p == port) {
            // Blame the value the user set: a default is never the one to change.
            let (blamed, kept) = if is_default(&origin(key)) {
                (*other, key)
            } else {
                (key, *other)
            };
            fail(
                blamed,
                format!("{blamed} is {port}, the same port as {kept}"),
                "give each a different port",
            );
        }
        ports.push((key, port));
    }

    let domain = str_of(table, "network.domain");
    if !is_dns_name(domain) {
        fail(
            "network.domain",
            format!("network.domain {} is not a valid DNS suffix", shown(domain)),
            "use lowercase DNS labels separated by dots, e.g. \"local\" or \"localhost\"",
        );
    }

    for (key, with_v) in [
        ("components.argocd", true),
        ("components.argo_rollouts", true),
        ("components.argo_rollouts_chart", false),
        ("components.cert_manager", true),
        ("components.kube_prometheus_stack", false),
        ("components.traefik", false),
        ("components.metrics_server", false),
    ] {
        let v = str_of(table, key);
        if !is_release_version(v, with_v) {
            let hint = if with_v {
                "use a release tag with a leading v, e.g. \"v1.2.3\""
            } else {
                "use a chart version without v, e.g. \"1.2.3\""
            };
            fail(
                key,
                format!("{key} {} is not a valid version", shown(v)),
                hint,
            );
        }
    }

    let version = str_of(table, "demo.version");
    if !is_image_tag(version) {
        fail(
            "demo.version",
            format!("demo.version {} is not a valid image tag", shown(version)),
            "use letters, digits, '.', '_' and '-', e.g. version = \"v1.0.0\"",
        );
    }
    let profile = str_of(table, "demo.profile");
    if !matches!(profile, "fast" | "realistic") {
        fail(
            "demo.profile",
            format!("demo.profile {} is not a timing profile", shown(profile)),
            "use \"realistic\" (the committed pauses) or \"fast\" (10 s pauses and intervals)",
        );
    }

    if let Some(toml::Value::Table(timeouts)) = table.get("timeouts") {
        for (name, value) in timeouts {
            let key = format!("timeouts.{name}");
            let text = value.as_str().unwrap_or_default();
            match timeouts::parse(text) {
                Ok(_) => {}
                Err(Problem::Zero) => fail(
                    &key,
                    format!("{key} must be longer than zero"),
                    "e.g. \"90s\" or \"10m\"",
                ),
                Err(Problem::TooLong) => fail(
                    &key,
                    format!("{key} {} is longer than 24h", shown(text)),
                    "timeouts are at most \"24h\"; e.g. \"10m\"",
                ),
                Err(Problem::NotADuration(e)) => fail(
                    &key,
                    format!("{key} {} is not a duration: {e}", shown(text)),
                    "e.g. \"90s\", \"10m\" or \"1h 30m\"",
                ),
            }
        }
    }

    check_container_names(table, origin, issues);
}

/// Two containers kindling makes must never share a name: mirrors `a-b.io` and `a.b-io` both
/// become `kindling-mirror-a-b-io`, and `registry.name` may equal a mirror's or the kind
/// node's name. Docker would hand one the other's container (and volume), so it is refused.
fn check_container_names(
    table: &toml::Table,
    origin: &dyn Fn(&str) -> Origin,
    issues: &mut Vec<ConfigIssue>,
) {
    let registry = str_of(table, "registry.name");
    let cluster = str_of(table, "cluster.name");
    // (container name, what needs it, the key that chose it), in the order blame goes.
    let mut made: Vec<(String, String, &str)> = vec![
        (
            registry.to_string(),
            format!("registry.name {registry:?}"),
            "registry.name",
        ),
        (
            format!("{cluster}-control-plane"),
            format!("kind's node of cluster.name {cluster:?}"),
            "cluster.name",
        ),
    ];
    let mirrors = get(table, "registry.mirrors").and_then(toml::Value::as_array);
    for host in mirrors
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
    {
        made.push((
            super::mirror_container_name(host),
            format!("the cache of mirror {host:?}"),
            "registry.mirrors",
        ));
    }
    for (i, (name, what, _)) in made.iter().enumerate() {
        // The same host listed twice is reported above.
        let Some((_, first, key)) = made[..i]
            .iter()
            .find(|(n, first, _)| n == name && first != what)
        else {
            continue;
        };
        issues.push(ConfigIssue {
            origin: origin(key),
            message: format!("{first} and {what} both need the container name {name:?}"),
            hint: Some(
                "a mirror's container is kindling-mirror-<host, '.' as '-'>: keep only one of \
                 those mirrors, or choose another registry.name"
                    .into(),
            ),
        });
    }
}

/// Whether a value is the built-in default's (no file, variable or flag set it).
fn is_default(origin: &Origin) -> bool {
    matches!(origin, Origin::Builtin { .. })
}
