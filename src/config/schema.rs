//! Strict checking of a user's TOML against the built-in file, which is the schema:
//! every section and key it has is known, with the type of its value.

use super::error::shown;
use super::load::MAX_ISSUES;
use super::{ConfigIssue, Origin};
use std::collections::HashMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// The type name of a TOML value as users write it.
pub(super) fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean (true or false)",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

fn de_type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean (true or false)",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

fn same_kind(schema: &toml::Value, user: &DeValue<'_>) -> bool {
    match (schema, user) {
        (toml::Value::Array(s), DeValue::Array(u)) => {
            // Lists in the schema are lists of strings.
            let want_strings = s.first().is_none_or(|v| v.is_str());
            !want_strings || u.iter().all(|v| matches!(v.get_ref(), DeValue::String(_)))
        }
        _ => type_name(schema) == de_type_name(user),
    }
}

/// The closest known name, when it is close enough to be what the user meant.
pub(super) fn suggest<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(unknown, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// Whether a TOML integer fits the 64 bits every integer setting is read as.
fn fits_i64(value: &DeValue<'_>) -> bool {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).is_ok(),
        _ => true,
    }
}

fn unknown_hint(unknown: &str, known: &[&str]) -> String {
    match suggest(unknown, known.iter().copied()) {
        Some(name) => format!("did you mean `{name}`?"),
        None => format!("known keys here: {}", known.join(", ")),
    }
}

/// Problems found, reported in file order: the first `MAX_ISSUES` in full, the rest only
/// counted (their positions are never computed).
struct Issues<'a> {
    found: Vec<(Range<usize>, String, String)>,
    origin: &'a dyn Fn(Range<usize>) -> Origin,
}

impl Issues<'_> {
    fn push(&mut self, span: Range<usize>, message: String, hint: String) {
        self.found.push((span, message, hint));
    }

    fn finish(mut self) -> Vec<ConfigIssue> {
        self.found.sort_by_key(|(span, _, _)| span.start);
        let more = self.found.len().saturating_sub(MAX_ISSUES);
        let mut list: Vec<ConfigIssue> = self
            .found
            .into_iter()
            .take(MAX_ISSUES)
            .map(|(span, message, hint)| ConfigIssue {
                origin: (self.origin)(span),
                message,
                hint: Some(hint),
            })
            .collect();
        if more > 0
            && let Some(last) = list.last()
        {
            list.push(ConfigIssue {
                origin: last.origin.clone(),
                message: format!("... and {more} more problem(s) like those above"),
                hint: Some(
                    "is this kindling's bootstrap.toml? `kindling config show` prints a valid one"
                        .into(),
                ),
            });
        }
        list
    }
}

/// Checks `user` against `schema`; returns the problems and the span of every known value
/// (keyed "section.key"), which later checks use to point at a value.
pub(super) fn check(
    user: &DeTable<'_>,
    schema: &toml::Table,
    origin: &dyn Fn(Range<usize>) -> Origin,
) -> (Vec<ConfigIssue>, HashMap<String, Range<usize>>) {
    let mut issues = Issues {
        found: Vec::new(),
        origin,
    };
    let mut spans = HashMap::new();
    let sections: Vec<&str> = schema.keys().map(String::as_str).collect();
    for (key, value) in user {
        let name = key.get_ref().as_ref();
        let Some(toml::Value::Table(section)) = schema.get(name) else {
            issues.push(
                key.span(),
                format!("unknown section `{}`", shown(name).trim_matches('"')),
                unknown_hint(name, &sections),
            );
            continue;
        };
        let DeValue::Table(table) = value.get_ref() else {
            issues.push(
                value.span(),
                format!(
                    "`{name}` must be a table ([{name}]), found {}",
                    de_type_name(value.get_ref())
                ),
                format!("write the settings under a `[{name}]` header"),
            );
            continue;
        };
        let keys: Vec<&str> = section.keys().map(String::as_str).collect();
        for (k, v) in table {
            let kname = k.get_ref().as_ref();
            let Some(expected) = section.get(kname) else {
                issues.push(
                    k.span(),
                    format!(
                        "unknown key `{}` in [{name}]",
                        shown(kname).trim_matches('"')
                    ),
                    unknown_hint(kname, &keys),
                );
                continue;
            };
            if !same_kind(expected, v.get_ref()) {
                let want = match expected {
                    toml::Value::Array(_) => "a list of strings",
                    other => type_name(other),
                };
                issues.push(
                    v.span(),
                    format!(
                        "`{name}.{kname}` must be {want}, found {}",
                        de_type_name(v.get_ref())
                    ),
                    format!("e.g. {kname} = {expected}"),
                );
                continue;
            }
            if !fits_i64(v.get_ref()) {
                issues.push(
                    v.span(),
                    format!("`{name}.{kname}` is out of range"),
                    format!("e.g. {kname} = {expected}"),
                );
                continue;
            }
            spans.insert(format!("{name}.{kname}"), v.span());
        }
    }
    (issues.finish(), spans)
}
