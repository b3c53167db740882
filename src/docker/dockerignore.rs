//! `.dockerignore`, the subset Docker documents: one pattern a line, `#` comments,
//! `*`, `?`, `[...]` within a path segment, `**` for any number of segments, `!`
//! to re-include. The last matching line wins; a pattern that matches a folder
//! matches everything inside it.
//!
//! By hand, not `ignore` or `globset`: Docker does not use gitignore rules (`ignore` matches an
//! unanchored pattern at any depth; Docker anchors every pattern at the context root), and its
//! matcher (moby/patternmatcher, `Pattern.compile`) reads `{a,b}` as literal characters where
//! globset expands alternatives, and lets `**` stand anywhere (`(.*/)?`, a trailing `**` as a
//! prefix) where globset gives it meaning only as a whole path segment.

use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    segments: Vec<String>,
    negated: bool,
}

impl DockerIgnore {
    /// The rules of `<context>/.dockerignore`; none when the file is absent.
    pub fn load(context: &Path) -> std::io::Result<DockerIgnore> {
        match std::fs::read_to_string(context.join(".dockerignore")) {
            Ok(text) => Ok(DockerIgnore::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
            Err(e) => Err(e),
        }
    }

    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (negated, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let segments: Vec<String> = pattern
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_string)
                    .collect();
                (!segments.is_empty()).then_some(Rule { segments, negated })
            })
            .collect();
        DockerIgnore { rules }
    }

    /// Whether a path relative to the context ("a/b.txt") is left out of the build context.
    pub fn excluded(&self, rel: &str) -> bool {
        let path: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for rule in &self.rules {
            // The path itself or any folder above it.
            let hit = (1..=path.len()).any(|n| match_segments(&rule.segments, &path[..n]));
            if hit {
                excluded = !rule.negated;
            }
        }
        excluded
    }
}

fn match_segments(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_segments(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((seg, path_rest)) => {
                glob(first.as_bytes(), seg.as_bytes()) && match_segments(rest, path_rest)
            }
            None => false,
        },
    }
}

/// One path segment against a glob with `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\x`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') => (0..=text.len()).any(|i| glob(&pattern[1..], &text[i..])),
        Some(b'?') => !text.is_empty() && glob(&pattern[1..], &text[1..]),
        Some(b'[') => {
            let Some(close) = pattern
                .iter()
                .skip(1)
                .position(|&b| b == b']')
                .map(|p| p + 1)
            else {
                return text.first() == Some(&b'[') && glob(&pattern[1..], &text[1..]);
            };
            let Some(&c) = text.first() else { return false };
            let mut class = &pattern[1..close];
            let negate = matches!(class.first(), Some(b'^') | Some(b'!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&pattern[close + 1..], &text[1..])
        }
        Some(b'\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && glob(&pattern[2..], &text[1..])
        }
        Some(&p) => text.first() == Some(&p) && glob(&pattern[1..], &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::DockerIgnore;

    #[test]
    fn patterns_double_star_and_negation() {
        let ignore = DockerIgnore::parse(
            "# comment\n*.md\n!README.md\n**/*.tmp\nbuild\n/secret/\ndocs/[a-c]*.txt\n",
        );
        assert!(ignore.excluded("notes.md"));
        assert!(!ignore.excluded("README.md"));
        assert!(!ignore.excluded("sub/notes.md"), "* does not cross folders");
        assert!(ignore.excluded("x.tmp"));
        assert!(ignore.excluded("a/b/c.tmp"));
        assert!(
            ignore.excluded("build/out/bin"),
            "a matching folder excludes its content"
        );
        assert!(ignore.excluded("secret/key"));
        assert!(ignore.excluded("docs/b1.txt"));
        assert!(!ignore.excluded("docs/d1.txt"));
        assert!(!ignore.excluded("src/main.rs"));
    }

    #[test]
    fn negation_reincludes_inside_excluded_folder() {
        let ignore = DockerIgnore::parse("vendor\n!vendor/keep.txt\n");
        assert!(ignore.excluded("vendor/drop.txt"));
        assert!(!ignore.excluded("vendor/keep.txt"));
    }

    #[test]
    fn empty_file_excludes_nothing() {
        assert!(!DockerIgnore::parse("").excluded("anything"));
    }
}
