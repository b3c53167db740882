//! Every relative link in the README and docs/ leads somewhere: the file exists and, with a
//! `#anchor`, the file has that heading (GitHub's slugs: lower case, punctuation dropped,
//! spaces to hyphens, `-1`, `-2`, … for repeats — github-slugger, which github.com uses).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    for entry in fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    for folder in [
        "crates/kind-sim",
        "crates/fake-apiserver",
        "crates/argocd-health",
    ] {
        let readme = root().join(folder).join("README.md");
        if readme.exists() {
            docs.push(readme);
        }
    }
    docs.sort();
    docs
}

fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines outside fenced code blocks, numbered from 1.
fn prose(markdown: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut fenced = false;
    (1..).zip(markdown.lines()).filter(move |(_, line)| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// A prose line starting with `#` is a heading.
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose(markdown).filter(|(_, l)| l.starts_with('#')) {
        let base = slug(line.trim_start_matches('#'));
        let mut name = base.clone();
        let mut n = 0;
        while seen.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        seen.insert(name);
    }
    seen
}

/// `](target)` in prose, outside inline code.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in prose(markdown) {
        let mut in_code = false;
        for (i, c) in line.char_indices() {
            match c {
                '`' => in_code = !in_code,
                ']' if !in_code && line[i + 1..].starts_with('(') => {
                    if let Some(end) = line[i + 2..].find(')') {
                        found.push((number, line[i + 2..i + 2 + end].to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    found
}

fn broken(document: &Path) -> Vec<String> {
    let text = fs::read_to_string(document).unwrap();
    let mut problems = Vec::new();
    for (line, target) in links(&text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((file, anchor)) => (file, Some(anchor)),
            None => (target.as_str(), None),
        };
        let path = if file.is_empty() {
            document.to_path_buf()
        } else {
            document.parent().unwrap().join(file)
        };
        let shown = document.strip_prefix(root()).unwrap_or(document);
        let at = format!("{}:{line}: ({target})", shown.display());
        if !path.exists() {
            problems.push(format!("{at}: no file {}", path.display()));
            continue;
        }
        if let Some(anchor) = anchor {
            let Ok(target_text) = fs::read_to_string(&path) else {
                problems.push(format!("{at}: an anchor into a folder"));
                continue;
            };
            if !anchors(&target_text).contains(anchor) {
                problems.push(format!("{at}: no heading #{anchor}"));
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_in_the_docs_leads_to_a_file_and_heading() {
    let problems: Vec<String> = documents().iter().flat_map(|d| broken(d)).collect();
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_finds_a_missing_heading_and_slugs_like_github() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("a.md");
    fs::write(
        &doc,
        "# `kindling up` and `kindling release`\n## Tests\n## Tests\n```\n# not a heading\n```\n\
         [ok](#kindling-up-and-kindling-release) [ok](#tests-1) [bad](#not-a-heading) `[code](#x)`\n",
    )
    .unwrap();
    assert_eq!(links(&fs::read_to_string(&doc).unwrap()).len(), 3);
    let problems = broken(&doc);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].ends_with("no heading #not-a-heading"),
        "{problems:?}"
    );
}
