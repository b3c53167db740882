//! Multi-document YAML split at its `---` lines, as text: manifests parse their documents in
//! parallel and name each one's line; lint skims documents for CRDs before parsing any. (The
//! YAML parser's own multi-document reading parses everything, in one thread.)

/// One document of a multi-document YAML text.
pub struct Document<'a> {
    pub text: &'a str,
    /// 1-based line of the document's first line in the file.
    pub first_line: u64,
}

impl Document<'_> {
    /// Nothing but blank lines and comments.
    pub fn is_empty(&self) -> bool {
        self.text.lines().all(is_blank_or_comment)
    }
}

/// Splits at `---` separator lines (and drops `...` end markers), keeping line numbers.
/// Block scalars are indented under their key, so a column-0 `---` is always a separator.
pub fn documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (line_no, line) in (1..).zip(text.split_inclusive('\n')) {
        let trimmed = line.trim_end();
        let separator = trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed == "..."
            || trimmed.starts_with("---\t");
        if separator {
            docs.push(Document {
                text: &text[start..offset],
                first_line,
            });
            // Content after "--- " on the same line belongs to the next document.
            start = if trimmed.starts_with("--- ") {
                offset + 4
            } else {
                offset + line.len()
            };
            first_line = if trimmed.starts_with("--- ") {
                line_no
            } else {
                line_no + 1
            };
        }
        offset += line.len();
    }
    docs.push(Document {
        text: &text[start..],
        first_line,
    });
    // A leading "---" makes an empty first document: it is skipped later like any empty one,
    // but it must not count, so documents are numbered as a reader counts them.
    if docs.first().is_some_and(Document::is_empty) && docs.len() > 1 {
        docs.remove(0);
    }
    docs
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}
