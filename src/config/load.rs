//! Loading: built-in default ← file ← environment (KINDLING_<SECTION>_<KEY>) ← `--set` flags.

use super::error::shown;
use super::schema::{self, suggest, type_name};
use super::{BUILTIN, Config, ConfigError, ConfigIssue, Origin, SECRET_KEYS, validate};
use crate::bounded_read::{self, ReadError};
use crate::env::Env;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The largest configuration file read. bootstrap.toml is a few KB; anything near this is
/// the wrong file, and parsing it would only cost time and memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// At most this many problems are reported one by one; the rest are counted. A file of
/// 80,000 unknown keys needs one message, not 80,000.
pub(super) const MAX_ISSUES: usize = 20;

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

/// Line starts of a text, computed once, so every position costs a binary search instead
/// of a scan from the top (which made many errors quadratic in the file's size).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line, column + 1)
    }
}

fn read_file(path: &Path) -> Result<String, ConfigError> {
    bounded_read::regular_file(path, MAX_CONFIG_BYTES).map_err(|e| {
        let origin = Origin::File {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
        };
        let (message, hint) = match e {
            ReadError::TooLarge { limit } => (
                format!(
                    "the configuration file is larger than {}",
                    bounded_read::size(limit)
                ),
                "bootstrap.toml is a few KB: check that --config names the right file",
            ),
            ReadError::NotAFile { kind } => (
                format!("cannot read the configuration file: it is a {kind}, not a regular file"),
                "pass a regular file to --config, or omit it to use the built-in default",
            ),
            ReadError::Io(e) => (
                format!("cannot read the configuration file: {e}"),
                "check the path given to --config, or omit it to use the built-in default",
            ),
        };
        ConfigError::single(origin, message, Some(hint.into()))
    })
}

/// Loads, checks and validates a configuration. Every problem found is returned at once.
pub fn load(
    source: &ConfigSource,
    env: &Env,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let (text, path) = match source {
        ConfigSource::Builtin => (BUILTIN.to_string(), None),
        ConfigSource::File(path) => (read_file(path)?, Some(path.clone())),
    };
    let lines = LineIndex::new(&text);
    let at = |span: Range<usize>| {
        let (line, column) = lines.line_col(span.start);
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
    let schema = builtin_table();
    let (mut issues, spans) = schema::check(user.get_ref(), schema, &at);
    if !issues.is_empty() {
        return Err(ConfigError { issues });
    }

    // Merge the file over the built-in default, key by key. The schema check above has
    // accepted every value, so a failure here is kindling's bug; still reported, not a panic.
    let mut merged = schema.clone();
    let file: toml::Table = toml::from_str(&text).map_err(|e| {
        ConfigError::single(
            at(e.span().unwrap_or(0..0)),
            format!("invalid value: {}", e.message()),
            None,
        )
    })?;
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
    apply_env(schema, env, &mut merged, &mut origins, &mut issues);
    apply_sets(
        schema,
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
            .unwrap_or_else(|| builtin_origin(key))
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

/// The built-in file as a table: the schema every input is checked against.
fn builtin_table() -> &'static toml::Table {
    static TABLE: OnceLock<toml::Table> = OnceLock::new();
    TABLE.get_or_init(|| toml::from_str(BUILTIN).expect("built-in bootstrap.toml is valid TOML"))
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
fn builtin_origin(key: &str) -> Origin {
    static SPANS: OnceLock<HashMap<String, (usize, usize)>> = OnceLock::new();
    let spans = SPANS.get_or_init(|| {
        let parsed =
            toml::de::DeTable::parse(BUILTIN).expect("built-in bootstrap.toml is valid TOML");
        let lines = LineIndex::new(BUILTIN);
        let (_, spans) = schema::check(parsed.get_ref(), builtin_table(), &|_| Origin::Builtin {
            line: 0,
            column: 0,
        });
        spans
            .into_iter()
            .map(|(k, s)| (k, lines.line_col(s.start)))
            .collect()
    });
    let (line, column) = spans.get(key).copied().unwrap_or((1, 1));
    Origin::Builtin { line, column }
}

/// Converts an override's text to the type the schema has for that key.
fn parse_as(expected: &toml::Value, raw: &str) -> Result<toml::Value, String> {
    match expected {
        toml::Value::String(_) => Ok(toml::Value::String(raw.to_string())),
        toml::Value::Integer(_) => {
            raw.trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|e| match e.kind() {
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                        format!("is out of range, got {}", shown(raw))
                    }
                    _ => format!("must be an integer, got {}", shown(raw)),
                })
        }
        toml::Value::Boolean(_) => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("must be true or false, got {}", shown(raw))),
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

/// Every KINDLING_* variable kindling (or its test suite) reads that is not a setting. Keep
/// this the one list: `unknown_env_vars` warns about any other KINDLING_* variable that is
/// no setting either, and a test checks that src/ and scripts/ read no variable missing here.
const NON_CONFIG_VARS: &[&str] = &[
    "KINDLING_DATA_DIR",
    "KINDLING_CACHE_DIR",
    "KINDLING_HOSTS_FILE",
    "KINDLING_SUDO",
    "KINDLING_KIND_BIN",
    "KINDLING_KIND_DOWNLOAD_URL",
    "KINDLING_SCHEMAS_DIR",
    "KINDLING_KUSTOMIZE_BIN",
    "KINDLING_RESOLVE",
    "KINDLING_BUNDLE_UPSTREAMS",
    // The test suite's (scripts/lib/prepare.sh sets them for every test, binary included).
    "KINDLING_SHARED_DIR",
    "KINDLING_CRD_APISERVER",
    "KINDLING_HELM_PYTHON",
    "KINDLING_PROBE_PORT",
];

/// Prefix of the test suite's own variables (KINDLING_TEST_KIND, ...).
const TEST_VAR_PREFIX: &str = "KINDLING_TEST_";

/// Whether a KINDLING_* variable is one of kindling's own that is not a setting.
pub fn is_non_config_var(name: &str) -> bool {
    NON_CONFIG_VARS.contains(&name) || name.starts_with(TEST_VAR_PREFIX)
}

/// Every settings variable name (KINDLING_REGISTRY_HOST_PORT, ...).
fn config_var_names() -> Vec<String> {
    builtin_table()
        .iter()
        .flat_map(|(section, keys)| {
            keys.as_table()
                .into_iter()
                .flat_map(move |t| t.keys().map(move |k| env_var_name(section, k)))
        })
        .collect()
}

/// KINDLING_* variables that name no section at all (a misspelled section: REGISTY for
/// REGISTRY) and are not one of kindling's other variables: ignored, so worth a warning.
/// (A known section with an unknown key is an error in `load`.)
pub fn unknown_env_vars(env: &Env) -> Vec<ConfigIssue> {
    let sections: Vec<String> = builtin_table()
        .keys()
        .map(|s| format!("KINDLING_{}_", s.to_ascii_uppercase()))
        .collect();
    let known = config_var_names();
    env.with_prefix("KINDLING_")
        .into_iter()
        .filter(|(var, _)| !is_non_config_var(var) && !sections.iter().any(|p| var.starts_with(p)))
        .map(|(var, _)| {
            let candidates = known
                .iter()
                .map(String::as_str)
                .chain(NON_CONFIG_VARS.iter().copied());
            ConfigIssue {
                origin: Origin::Env { var: var.clone() },
                message: format!("{var} is not a kindling setting: ignored"),
                hint: Some(match suggest(&var, candidates) {
                    Some(name) => format!("did you mean {name}?"),
                    None => {
                        "settings are KINDLING_<SECTION>_<KEY>, e.g. KINDLING_REGISTRY_HOST_PORT; \
                             `kindling config show` lists every section and key"
                            .into()
                    }
                }),
            }
        })
        .collect()
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

/// A `--set` argument as error messages show it. The value is shown only for a known
/// setting that is not a secret: a misspelled key may well hold a password
/// (`credentials.grafana_admin_passwrd=...`), and a long value is cut short.
fn shown_set_arg(arg: &str, schema: &toml::Table) -> String {
    let Some((path, value)) = arg.split_once('=') else {
        return shown(arg).trim_matches('"').to_string();
    };
    let path = path.trim();
    let known = path
        .split_once('.')
        .is_some_and(|(s, k)| schema.get(s).and_then(|t| t.get(k)).is_some());
    let value = if known && !SECRET_KEYS.contains(&path) {
        shown(value).trim_matches('"').to_string()
    } else {
        "<hidden>".to_string()
    };
    format!("{}={value}", shown(path).trim_matches('"'))
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
        let origin = Origin::Flag {
            arg: shown_set_arg(arg, schema),
        };
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
                message: format!("unknown setting `{}`", shown(path).trim_matches('"')),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_lines_and_character_columns() {
        let index = LineIndex::new("ab\nçd = 1\n\nx");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(1), (1, 2));
        assert_eq!(index.line_col(3), (2, 1));
        // "çd": ç is two bytes, one column.
        assert_eq!(index.line_col(5), (2, 2));
        assert_eq!(index.line_col(11), (3, 1));
        assert_eq!(index.line_col(12), (4, 1));
        assert_eq!(index.line_col(999), (4, 2));
    }

    #[test]
    fn set_arguments_hide_values_of_secrets_and_unknown_keys() {
        let schema = builtin_table();
        assert_eq!(
            shown_set_arg("registry.host_port=abc", schema),
            "registry.host_port=abc"
        );
        assert_eq!(
            shown_set_arg("credentials.grafana_admin_password=s3cret", schema),
            "credentials.grafana_admin_password=<hidden>"
        );
        assert_eq!(
            shown_set_arg("credentials.grafana_admin_passwrd=s3cret", schema),
            "credentials.grafana_admin_passwrd=<hidden>"
        );
        let long = format!("cluster.name={}", "x".repeat(10_000));
        assert!(shown_set_arg(&long, schema).len() < 120);
    }

    /// Every KINDLING_* variable that kindling's code and scripts read is either a setting or
    /// in NON_CONFIG_VARS, so the unknown-variable warning never fires for kindling's own.
    #[test]
    fn every_kindling_variable_read_is_a_setting_or_listed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = config_var_names();
        let sections: Vec<String> = builtin_table()
            .keys()
            .map(|s| format!("KINDLING_{}_", s.to_ascii_uppercase()))
            .collect();
        let mut stack = vec![root.join("src"), root.join("scripts")];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (at, _) in text.match_indices("KINDLING_") {
                    let name: String = text[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    // Prefix mentions such as KINDLING_TEST_ or KINDLING_<SECTION>_<KEY>.
                    if name.ends_with('_') {
                        continue;
                    }
                    seen.insert((name, path.display().to_string()));
                }
            }
        }
        for (name, file) in &seen {
            assert!(
                settings.contains(name) || is_non_config_var(name),
                "{name} (read in {file}) is neither a setting nor in NON_CONFIG_VARS"
            );
            // A non-setting variable under a section's prefix would be refused as an unknown key.
            if is_non_config_var(name) {
                assert!(
                    !sections.iter().any(|p| name.starts_with(p)),
                    "{name} starts like a settings variable"
                );
            }
        }
        assert!(seen.iter().any(|(n, _)| n == "KINDLING_DATA_DIR"));
    }
}
