//! No import runs back up: src/'s top-level modules form layers, and a module uses only
//! modules of a strictly lower layer, itself, or a same-layer module named in `SAME_LAYER`
//! (with its reason; never both directions, so no cycle). Every `crate::` path counts:
//! `use crate::x::…`, grouped and multi-line `use crate::{a, b::c}`, and inline
//! `crate::x::f()`; comments and string literals do not. A `super::` chain that climbs out
//! of its top-level module (outside `#[cfg(test)]` code) is refused: it would hide an import.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom first. A module missing from this table fails the test: place it, and say why.
const LAYERS: &[(&[&str], &str)] = &[
    (
        &["style", "bounded_read", "environments", "retry", "yaml"],
        "leaves: colour, size-capped reads, the demo environments table, retry until a deadline, YAML documents; use nothing of kindling",
    ),
    (
        &["env", "report"],
        "the process environment, and progress events with how an error is shown",
    ),
    (&["paths"], "where kindling keeps its files (reads env)"),
    (&["config"], "bootstrap.toml, typed (reads paths)"),
    (
        &["error"],
        "typed errors and exit codes; a configuration error is one of them",
    ),
    (
        &["pipeline", "net"],
        "the step runner and download errors: report and error only",
    ),
    (
        &["docker", "k8s", "hosts", "lint", "rollout", "traffic"],
        "one external system or input each, nothing of the platform",
    ),
    (
        &["tls", "cluster", "platform"],
        "the local CA, the kind cluster, the platform's parts: built on the systems below",
    ),
    (
        &["host_changes"],
        "what kindling changed on this host (hosts block, trusted CA): reads hosts and tls",
    ),
    (
        &["status", "doctor", "release", "down", "render", "bundle"],
        "commands' cores that read or act on the platform",
    ),
    (
        &["up", "scenario"],
        "the whole platform brought up, and proven",
    ),
    (&["cli"], "the only code that prints; uses everything"),
];

/// Same-layer uses that are allowed, each with why; the reverse of any of them is not.
const SAME_LAYER: &[(&str, &str, &str)] = &[(
    "platform",
    "tls",
    "a fresh install plans cert-manager in the namespace tls::cluster owns; tls knows nothing of the platform",
)];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(modules, _)| modules.contains(&module))
}

/// The top-level module a file under src/ belongs to (None: lib.rs and main.rs, the roots).
fn module_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    match first {
        "lib.rs" | "main.rs" => None,
        _ => Some(first.strip_suffix(".rs").unwrap_or(first)),
    }
}

/// The text with comments and the contents of string and char literals blanked out (newlines
/// kept, so offsets still give line numbers).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"') | Some('#'))
            && !(i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            // Raw string r"…" / r#"…"#: ends at a quote followed by as many #.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.extend(std::iter::repeat_n(' ', j + 1 - i));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'); otherwise a lifetime or label.
            let end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every `crate::` path's first segment, with its byte offset; grouped uses give one entry
/// per member.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| is_ident(c) || c == '$') {
            continue; // `$crate::` in macros, or a longer identifier ending in "crate"
        }
        let rest = &code[at + "crate::".len()..];
        let rest_at = at + "crate::".len();
        let trimmed = rest.trim_start();
        let lead = rest.len() - trimmed.len();
        if let Some(group) = trimmed.strip_prefix('{') {
            let group_at = rest_at + lead + 1;
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.extend(first_segment(&group[start..k], group_at + start));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.extend(first_segment(&group[start..k], group_at + start));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.extend(first_segment(rest, rest_at));
        }
    }
    found
}

fn first_segment(text: &str, offset: usize) -> Option<(usize, String)> {
    let trimmed = text.trim_start();
    let at = offset + text.len() - trimmed.len();
    let name: String = trimmed.chars().take_while(|&c| is_ident(c)).collect();
    (!name.is_empty() && name != "self").then_some((at, name))
}

/// The line of a `super::` chain long enough to reach the crate root from this file, in the
/// code before its tests (src/x.rs and src/x/mod.rs: one `super`; src/x/y.rs: two; ...).
fn climbs_out(path: &str, code: &str) -> Option<usize> {
    let rest = path.strip_prefix("src/")?;
    let depth = rest.split('/').count() - usize::from(rest.ends_with("/mod.rs"));
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let chain = "super::".repeat(depth);
    code.match_indices(&chain)
        .find(|(at, _)| !code[..*at].ends_with(|c: char| is_ident(c) || c == ':'))
        .map(|(at, _)| code[..at].matches('\n').count() + 1)
}

/// Items lib.rs re-exports at the root (`pub use error::{Error, ...}`), by the module they
/// come from, so `crate::Error` counts as a use of `error`.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in code_only(lib).lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items
            .trim_end_matches(';')
            .trim_matches(|c| c == '{' || c == '}');
        for item in items.split(',') {
            let item = item.split(" as ").last().unwrap_or_default().trim();
            map.insert(item.to_string(), module.trim().to_string());
        }
    }
    map
}

/// "file:line: why" for every use that runs back up (or names a module with no layer).
fn back_edges(lib: &str, files: &[(String, String)]) -> Vec<String> {
    let reexports = root_reexports(lib);
    let mut problems = Vec::new();
    for (path, text) in files {
        let Some(from) = module_of(path) else {
            continue;
        };
        let Some(from_layer) = layer_of(from) else {
            problems.push(format!(
                "{path}: module `{from}` has no layer: add it to LAYERS with why"
            ));
            continue;
        };
        let code = code_only(text);
        if let Some(line) = climbs_out(path, &code) {
            problems.push(format!(
                "{path}:{line}: a `super::` path climbs out of module `{from}`: write `crate::`"
            ));
        }
        for (at, first) in crate_paths(&code) {
            let to = reexports.get(&first).map_or(first.as_str(), |m| m.as_str());
            if to == from {
                continue;
            }
            let line = code[..at].matches('\n').count() + 1;
            let Some(to_layer) = layer_of(to) else {
                problems.push(format!(
                    "{path}:{line}: `crate::{first}` is no module with a layer in LAYERS"
                ));
                continue;
            };
            let allowed =
                to_layer < from_layer || SAME_LAYER.iter().any(|(a, b, _)| *a == from && *b == to);
            if !allowed {
                problems.push(format!(
                    "{path}:{line}: {from} (layer {from_layer}) uses {to} (layer {to_layer}): \
                     a module may use only lower layers"
                ));
            }
        }
    }
    problems
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_module_of_src_imports_from_a_higher_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), root, &mut files);
    assert!(files.len() > 100, "src/ has {} .rs files", files.len());
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let problems = back_edges(&lib, &files);
    assert!(
        problems.is_empty(),
        "imports that run back up:\n{}",
        problems.join("\n")
    );
    // Every module lib.rs declares has a layer, and the table names no module that is gone.
    for line in lib.lines() {
        if let Some(module) = line.strip_prefix("pub mod ") {
            let module = module.trim_end_matches(';');
            assert!(layer_of(module).is_some(), "{module} has no layer");
        }
    }
    for (modules, _) in LAYERS {
        for module in *modules {
            assert!(
                lib.contains(&format!("pub mod {module};")),
                "LAYERS names {module}, which lib.rs does not declare"
            );
        }
    }
}

#[test]
fn same_layer_exceptions_are_same_layer_and_one_way() {
    for (from, to, why) in SAME_LAYER {
        assert!(!why.is_empty());
        assert_eq!(layer_of(from), layer_of(to), "{from} → {to}");
        assert!(layer_of(from).is_some(), "{from}");
        assert!(
            !SAME_LAYER.iter().any(|(a, b, _)| a == to && b == from),
            "{from} ↔ {to} would be a cycle"
        );
    }
}

const LIB: &str = "pub mod config;\npub use error::{Error, ExitStatus, Result};\n";

fn file(path: &str, text: &str) -> Vec<(String, String)> {
    vec![(path.to_string(), text.to_string())]
}

#[test]
fn a_new_back_edge_is_named_with_its_file_and_line() {
    let problems = back_edges(
        LIB,
        &file(
            "src/config/mod.rs",
            "//! config\n\nuse crate::env::Env;\nuse crate::platform::gitops::Profile;\n",
        ),
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("src/config/mod.rs:4: config (layer 3) uses platform (layer 7)"),
        "{problems:?}"
    );
}

#[test]
fn grouped_multi_line_and_inline_paths_count() {
    let text = "use crate::{\n    env::Env,\n    error::{self, Error},\n};\n\
                fn f() { let _ = crate::cli::main(); }\n";
    let problems = back_edges(LIB, &file("src/k8s/apply.rs", text));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("src/k8s/apply.rs:5: k8s"),
        "{problems:?}"
    );
    // docker is in k8s's own layer and not an allowed same-layer use.
    let problems = back_edges(LIB, &file("src/k8s/apply.rs", "use crate::{env, docker};"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("uses docker"), "{problems:?}");
}

#[test]
fn comments_strings_and_root_reexports_do_not_fool_it() {
    let text = "// use crate::cli;\n/* crate::up:: */\nconst S: &str = \"crate::scenario::x\";\n\
                const R: &str = r#\"crate::up\"#;\nconst C: char = '\"';\n\
                fn f<'a>(_: &'a str) -> crate::Result<()> { Err(crate::Error::Interrupted) }\n";
    assert_eq!(
        back_edges(LIB, &file("src/docker/mod.rs", text)),
        Vec::<String>::new()
    );
    // The same re-export from a module below error is a back-edge.
    let problems = back_edges(LIB, &file("src/config/load.rs", text));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("config (layer 3) uses error"),
        "{problems:?}"
    );
}

#[test]
fn a_module_without_a_layer_is_named() {
    let problems = back_edges(LIB, &file("src/gadget.rs", "use crate::env::Env;"));
    assert_eq!(
        problems,
        vec!["src/gadget.rs: module `gadget` has no layer: add it to LAYERS with why"]
    );
}

#[test]
fn a_super_path_out_of_the_module_counts_as_an_import() {
    let problems = back_edges(
        LIB,
        &file("src/docker/mod.rs", "use super::doctor::ports;\n"),
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("src/docker/mod.rs:1: a `super::` path climbs out"));
    let inside =
        "use super::client::Docker;\n#[cfg(test)]\nmod tests {\n    use super::super::x;\n}\n";
    assert_eq!(
        back_edges(LIB, &file("src/docker/containers.rs", inside)),
        Vec::<String>::new()
    );
    let out = "use super::super::doctor;\n";
    assert_eq!(
        back_edges(LIB, &file("src/docker/containers.rs", out)).len(),
        1
    );
}
