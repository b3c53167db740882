//! The managed block, as text: find it, replace it, take it out, leaving every
//! byte outside it as it was (line endings, a missing final newline, comments, tabs).
//!
//! The block itself never ends with a line terminator; where it goes decides:
//! - appended to a file that ends with a newline (or is empty): block + newline;
//! - appended to a file without a final newline: newline + block, so the file still
//!   ends without one;
//! - elsewhere: block + newline.
//!
//! Removal undoes exactly that, so `remove` after `apply` gives back the original.

/// The marker lines of a cluster's block.
pub fn begin_marker(cluster: &str) -> String {
    format!("# BEGIN kindling {cluster}")
}
pub fn end_marker(cluster: &str) -> String {
    format!("# END kindling {cluster}")
}

/// The address every name maps to. Only IPv4: the cluster's ingress ports are
/// published on 127.0.0.1 only, and a `::1` entry would make clients that prefer
/// IPv6 try a port nobody listens on first (a delay, or a failure without fallback).
pub const LOOPBACK: &str = "127.0.0.1";

/// The block for `hosts`, lines joined with `newline`, without a final terminator.
pub fn render(cluster: &str, hosts: &[String], newline: &str) -> String {
    let mut lines = vec![
        begin_marker(cluster),
        "# Managed by kindling: `kindling hosts remove` takes this block out; edits here are replaced.".to_string(),
    ];
    lines.extend(hosts.iter().map(|h| format!("{LOOPBACK}\t{h}")));
    lines.push(end_marker(cluster));
    lines.join(newline)
}

/// The line terminator the file uses (CRLF if its first line ends so), else "\n".
pub fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// A line with its byte range; `content` excludes the terminator.
struct Line<'a> {
    start: usize,
    /// End of the content (before "\r\n" or "\n").
    content_end: usize,
    /// End including the terminator.
    end: usize,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let mut content_end = end;
        if text[start..end].ends_with('\n') {
            content_end -= 1;
            if text[start..content_end].ends_with('\r') {
                content_end -= 1;
            }
        }
        out.push(Line {
            start,
            content_end,
            end,
            content: &text[start..content_end],
        });
        start = end;
    }
    out
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.trim_end() == marker
}

/// A line kindling would have written inside a block (for repairing a block whose END is lost).
fn is_entry(line: &str, hosts: &[String]) -> bool {
    let mut words = line.split_whitespace();
    matches!(words.next(), Some("127.0.0.1" | "::1"))
        && words.clone().next().is_some()
        && words.all(|w| hosts.iter().any(|h| h == w))
}

/// Byte ranges (start, content end of the last line, end with terminator) of
/// every piece of this cluster's blocks: complete blocks, a BEGIN whose END is
/// missing (with the entry lines after it), and stray END lines.
fn find_blocks(text: &str, cluster: &str, hosts: &[String]) -> Vec<(usize, usize, usize)> {
    let begin = begin_marker(cluster);
    let end = end_marker(cluster);
    let lines = lines(text);
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if is_marker(line.content, &end) {
            blocks.push((line.start, line.content_end, line.end));
            i += 1;
            continue;
        }
        if !is_marker(line.content, &begin) {
            i += 1;
            continue;
        }
        // Complete block: the next END before any other BEGIN.
        let close = lines[i + 1..]
            .iter()
            .take_while(|l| !is_marker(l.content, &begin))
            .position(|l| is_marker(l.content, &end))
            .map(|p| i + 1 + p);
        let last = match close {
            Some(j) => j,
            None => {
                // Damaged: keep what kindling wrote (comment and entry lines), nothing else.
                let mut j = i;
                while j + 1 < lines.len()
                    && (is_entry(lines[j + 1].content, hosts)
                        || lines[j + 1].content.starts_with("# Managed by kindling"))
                {
                    j += 1;
                }
                j
            }
        };
        blocks.push((line.start, lines[last].content_end, lines[last].end));
        i = last + 1;
    }
    blocks
}

/// `text` without any of the cluster's blocks, and where the first one was.
fn strip(text: &str, cluster: &str, hosts: &[String]) -> (String, Option<usize>) {
    let blocks = find_blocks(text, cluster, hosts);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut first = None;
    for (start, content_end, end) in blocks {
        let (cut_start, cut_end) = if content_end == end && end == text.len() {
            // Last line without a terminator: the newline before it was ours.
            let before = &text[..start];
            let nl = if before.ends_with("\r\n") {
                2
            } else if before.ends_with('\n') {
                1
            } else {
                0
            };
            (start - nl, end)
        } else {
            (start, end)
        };
        let cut_start = cut_start.max(pos);
        out.push_str(&text[pos..cut_start]);
        first.get_or_insert(out.len());
        pos = cut_end;
    }
    out.push_str(&text[pos..]);
    (out, first)
}

/// `text` with exactly one block for `cluster` mapping `hosts`.
pub fn apply(text: &str, cluster: &str, hosts: &[String]) -> String {
    let (clean, first) = strip(text, cluster, hosts);
    let newline = newline_of(text);
    let block = render(cluster, hosts, newline);
    match first {
        Some(at) if at < clean.len() => {
            format!("{}{block}{newline}{}", &clean[..at], &clean[at..])
        }
        _ if clean.is_empty() || clean.ends_with('\n') => format!("{clean}{block}{newline}"),
        _ => format!("{clean}{newline}{block}"),
    }
}

/// `text` without any block for `cluster`.
pub fn remove(text: &str, cluster: &str, hosts: &[String]) -> String {
    strip(text, cluster, hosts).0
}

/// The cluster's block as it stands in `text` (the first one), if any.
pub fn current(text: &str, cluster: &str, hosts: &[String]) -> Option<String> {
    find_blocks(text, cluster, hosts)
        .first()
        .map(|&(start, content_end, _)| text[start..content_end].to_string())
}

/// Lines outside the block that map one of `hosts` to another address: (line, name, address).
pub fn foreign_mappings(
    text: &str,
    cluster: &str,
    hosts: &[String],
) -> Vec<(String, String, String)> {
    let (clean, _) = strip(text, cluster, hosts);
    let mut found = Vec::new();
    for line in clean.lines() {
        let content = line.split('#').next().unwrap_or_default();
        let mut words = content.split_whitespace();
        let Some(address) = words.next() else {
            continue;
        };
        for name in words {
            if hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) && address != LOOPBACK {
                found.push((
                    line.trim_end().to_string(),
                    name.to_string(),
                    address.to_string(),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["demo.localhost".into(), "argocd.localhost".into()]
    }

    #[test]
    fn apply_then_remove_gives_back_every_original() {
        for original in [
            "",
            "\n",
            "127.0.0.1 localhost\n",
            "127.0.0.1 localhost",
            "127.0.0.1\tlocalhost\r\n::1\tlocalhost\r\n",
            "127.0.0.1\tlocalhost\r\n::1 localhost",
            "# comment\n\n\t10.0.0.1   nas  # tabbed\n\n",
        ] {
            let applied = apply(original, "c", &hosts());
            assert!(applied.starts_with(original.trim_end_matches(['\r', '\n'])));
            assert_eq!(
                apply(&applied, "c", &hosts()),
                applied,
                "idempotent for {original:?}"
            );
            assert_eq!(
                remove(&applied, "c", &hosts()),
                original,
                "for {original:?}"
            );
        }
    }

    #[test]
    fn crlf_files_get_crlf_blocks() {
        let applied = apply("a\r\nb\r\n", "c", &hosts());
        assert!(!applied.replace("\r\n", "").contains('\n'), "{applied:?}");
    }

    #[test]
    fn block_in_the_middle_is_replaced_in_place() {
        let text = format!("a\n{}\nz\n", render("c", &["old.local".into()], "\n"));
        let applied = apply(&text, "c", &hosts());
        assert_eq!(applied, format!("a\n{}\nz\n", render("c", &hosts(), "\n")));
        assert_eq!(remove(&applied, "c", &hosts()), "a\nz\n");
    }

    #[test]
    fn other_clusters_blocks_are_left_alone() {
        let other = apply("a\n", "other", &hosts());
        let both = apply(&other, "c", &hosts());
        assert_eq!(remove(&both, "c", &hosts()), other);
    }
}
