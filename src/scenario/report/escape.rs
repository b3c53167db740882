//! Escaping for XML and HTML (the same rules serve both: every renderer here emits markup
//! that also parses as XML). Text comes from the cluster (labels, diagnostics, command
//! output), so anything may be in it.

/// Text content: `&`, `<`, `>` and quotes become references; characters XML 1.0 forbids
/// even as references (most C0 controls, U+FFFE/U+FFFF) become a visible `\u{..}` so a
/// stray escape sequence in captured output cannot make the whole report unreadable.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value in double quotes. Tab, CR and newline are written as references:
/// a parser normalises literal ones to spaces, and the text must round-trip.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' if in_attribute => out.push_str(&format!("&#{};", c as u32)),
            '\t' | '\n' | '\r' => out.push(c),
            c if forbidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Not allowed anywhere in an XML 1.0 document (and a parse error in HTML).
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{fffe}' | '\u{ffff}')
}

/// For the terminal: control characters (an escape sequence in a label could repaint the
/// screen) become visible, keeping newlines and tabs when `multiline`.
pub fn terminal(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' if multiline => out.push(c),
            '\n' | '\t' | '\r' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_references() {
        assert_eq!(
            text(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn controls_are_made_visible_and_whitespace_kept_where_it_survives() {
        assert_eq!(text("a\u{1b}[31mb\u{0}"), "a\\u{1b}[31mb\\u{0}");
        assert_eq!(text("a\nb\tc"), "a\nb\tc");
        assert_eq!(attr("a\nb\tc\r"), "a&#10;b&#9;c&#13;");
        assert_eq!(terminal("x\u{1b}[2Jy\nz", false), "x\\u{1b}[2Jy z");
        assert_eq!(terminal("y\nz", true), "y\nz");
    }
}
