//! Loading: built-in default ← file ← environment (KINDLING_<SECTION>_<KEY>) ← `--set` flags.

use super::schema::{self, suggest, type_name};
use super::{BUILTIN, Config, ConfigError, ConfigIssue, Origin, validate};
use crate::env::Env;
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

/// Which file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Builtin,
    File(PathBuf),
}

impl ConfigSource {
    /// `--config PATH` if given, else ./bootstrap.toml if present, else the built-in default.
    pub fn resolve(flag: Option<PathBuf>, cwd: &std::path::Path) -> ConfigSource {
        match flag {
            Some(path) => ConfigSource::File(path),
            None if cwd.join("bootstrap.toml").is_file() => {
                ConfigSource::File(PathBuf::from("bootstrap.toml"))
            }
            None => ConfigSource::Builtin,
        }
    }
}

/// `--set section.key=value` flags, applied last.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub sets: Vec<String>,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Loads, checks and validates a configuration. Every problem found is returned at once.
pub fn load(
    source: &ConfigSource,
    env: &Env,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let (text, path) = match source {
        ConfigSource::Builtin => (BUILTIN.to_string(), None),
        ConfigSource::File(path) => {
            match std::fs::read_to_string(path) {
                Ok(text) => (text, Some(path.clone())),
                Err(e) => {
                    return Err(ConfigError::single(
                    Origin::File { path: path.clone(), line: 1, column: 1 },
                    format!("cannot read the configuration file: {e}"),
                    Some("check the path given to --config, or omit it to use the built-in default".into()),
                ));
                }
            }
        }
    };
    let at = |span: Range<usize>| {
        let (line, column) = line_col(&text, span.start);
        match &path {
            Some(path) => Origin::File {
                path: path.clone(),
                line,
                column,
            },
            None => Origin::Builtin { line, column },
        }
    };

    let user = toml::de::DeTable::parse(&text).map_err(|e| {
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .trim()
            .to_string();
        ConfigError::single(
            at(e.span().unwrap_or(0..0)),
            format!("invalid TOML: {message}"),
            Some(
                "see https://toml.io for the syntax; the built-in bootstrap.toml is an example"
                    .into(),
            ),
        )
    })?;
    let schema: toml::Table =
        toml::from_str(BUILTIN).expect("built-in bootstrap.toml is valid TOML");
    let (mut issues, spans) = schema::check(user.get_ref(), &schema, &at);
    if !issues.is_empty() {
        return Err(ConfigError { issues });
    }

    // Merge the file over the built-in default, key by key.
    let mut merged = schema.clone();
    let file: toml::Table = toml::from_str(&text).expect("parsed above");
    for (section, values) in file {
        if let (Some(toml::Value::Table(target)), toml::Value::Table(values)) =
            (merged.get_mut(&section), values)
        {
            target.extend(values);
        }
    }

    // Where each value came from, for error messages.
    let mut origins: HashMap<String, Origin> =
        spans.into_iter().map(|(k, span)| (k, at(span))).collect();
    apply_env(&schema, env, &mut merged, &mut origins, &mut issues);
    apply_sets(
        &schema,
        &overrides.sets,
        &mut merged,
        &mut origins,
        &mut issues,
    );
    if !issues.is_empty() {
        return Err(ConfigError { issues });
    }
    existing_provider_defaults(&mut merged, &origins);

    let origin_of = |key: &str| -> Origin {
        origins
            .get(key)
            .cloned()
            .unwrap_or_else(|| builtin_origin(&schema, key))
    };
    validate::check(&merged, &origin_of, &mut issues);
    if !issues.is_empty() {
        return Err(ConfigError { issues });
    }
    toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| {
            ConfigError::single(
                Origin::Builtin { line: 1, column: 1 },
                format!(
                    "configuration does not match kindling's settings: {}",
                    e.message()
                ),
                None,
            )
        })
}

/// Host-side settings that default to false on `cluster.provider = "existing"`: there kindling
/// changes nothing on this machine (hosts file, trust store) unless the user asked for it in the
/// file, the environment or a flag. The built-in default (true) is for kind on a laptop.
pub const HOST_SIDE_KEYS: &[&str] = &["network.manage_hosts", "network.trust_ca"];

fn existing_provider_defaults(merged: &mut toml::Table, origins: &HashMap<String, Origin>) {
    let existing = merged
        .get("cluster")
        .and_then(|c| c.get("provider"))
        .and_then(toml::Value::as_str)
        == Some("existing");
    if !existing {
        return;
    }
    for key in HOST_SIDE_KEYS {
        // Set by the user: in their file, the environment or a flag (not the built-in file).
        if origins
            .get(*key)
            .is_some_and(|o| !matches!(o, Origin::Builtin { .. }))
        {
            continue;
        }
        let (section, name) = key.split_once('.').expect("section.key");
        set_value(merged, section, name, toml::Value::Boolean(false));
    }
}

/// Position of a key in the built-in file (used when a default value is the one at fault).
fn builtin_origin(schema: &toml::Table, key: &str) -> Origin {
    let parsed = toml::de::DeTable::parse(BUILTIN).expect("built-in bootstrap.toml is valid TOML");
    let (_, spans) = schema::check(parsed.get_ref(), schema, &|_| Origin::Builtin {
        line: 0,
        column: 0,
    });
    let (line, column) = spans
        .get(key)
        .map_or((1, 1), |s| line_col(BUILTIN, s.start));
    Origin::Builtin { line, column }
}

/// Converts an override's text to the type the schema has for that key.
fn parse_as(expected: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match expected {
        toml::Value::String(_) => Ok(toml::Value::String(raw.to_string())),
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("must be an integer, got {raw:?}")),
        toml::Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("must be true or false, got {raw:?}")),
        },
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        other => Err(format!(
            "cannot be overridden ({} setting)",
            type_name(other)
        )),
    }
}

fn set_value(merged: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    if let Some(toml::Value::Table(t)) = merged.get_mut(section) {
        t.insert(key.to_string(), value);
    }
}

/// The environment variable that overrides `section.key`.
pub fn env_var_name(section: &str, key: &str) -> String {
    format!(
        "KINDLING_{}_{}",
        section.to_ascii_uppercase(),
        key.to_ascii_uppercase()
    )
}

fn apply_env(
    schema: &toml::Table,
    env: &Env,
    merged: &mut toml::Table,
    origins: &mut HashMap<String, Origin>,
    issues: &mut Vec<ConfigIssue>,
) {
    for (section, keys) in schema {
        let toml::Value::Table(keys) = keys else {
            continue;
        };
        let prefix = format!("KINDLING_{}_", section.to_ascii_uppercase());
        let known: Vec<String> = keys.keys().map(|k| env_var_name(section, k)).collect();
        for (var, raw) in env.with_prefix(&prefix) {
            let Some(key) = keys.keys().find(|k| env_var_name(section, k) == var) else {
                issues.push(ConfigIssue {
                    origin: Origin::Env { var: var.clone() },
                    message: format!("unknown setting {var}"),
                    hint: Some(match suggest(&var, known.iter().map(String::as_str)) {
                        Some(name) => format!("did you mean {name}?"),
                        None => format!("settings of [{section}]: {}", known.join(", ")),
                    }),
                });
                continue;
            };
            match parse_as(&keys[key], &raw) {
                Ok(value) => {
                    set_value(merged, section, key, value);
                    origins.insert(format!("{section}.{key}"), Origin::Env { var });
                }
                Err(problem) => issues.push(ConfigIssue {
                    origin: Origin::Env { var: var.clone() },
                    message: problem,
                    hint: Some(format!("e.g. {var}={}", example(&keys[key]))),
                }),
            }
        }
    }
}

fn example(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn apply_sets(
    schema: &toml::Table,
    sets: &[String],
    merged: &mut toml::Table,
    origins: &mut HashMap<String, Origin>,
    issues: &mut Vec<ConfigIssue>,
) {
    let all_keys: Vec<String> = schema
        .iter()
        .flat_map(|(s, t)| {
            t.as_table()
                .into_iter()
                .flat_map(move |t| t.keys().map(move |k| format!("{s}.{k}")))
        })
        .collect();
    for arg in sets {
        let origin = Origin::Flag { arg: arg.clone() };
        let Some((path, raw)) = arg.split_once('=') else {
            issues.push(ConfigIssue {
                origin,
                message: "expected section.key=value".into(),
                hint: Some("e.g. --set registry.host_port=5002".into()),
            });
            continue;
        };
        let path = path.trim();
        let expected = path
            .split_once('.')
            .and_then(|(s, k)| schema.get(s)?.as_table()?.get(k).map(|v| (s, k, v)));
        let Some((section, key, expected)) = expected else {
            issues.push(ConfigIssue {
                origin,
                message: format!("unknown setting `{path}`"),
                hint: Some(match suggest(path, all_keys.iter().map(String::as_str)) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => "run `kindling config show` to list every setting".into(),
                }),
            });
            continue;
        };
        match parse_as(expected, raw) {
            Ok(value) => {
                set_value(merged, section, key, value);
                origins.insert(path.to_string(), origin);
            }
            Err(problem) => issues.push(ConfigIssue {
                origin,
                message: format!("`{path}` {problem}"),
                hint: Some(format!("e.g. --set {path}={}", example(expected))),
            }),
        }
    }
}
