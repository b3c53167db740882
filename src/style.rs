//! The one styling layer: the styles kindling's output uses, and whether colour is on.
//! Colour is decided once per stream by anstream (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`,
//! `TERM=dumb`), after `cli` has recorded `--no-color` as the global choice.

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
/// A cause of an error ("caused by:").
pub const CAUSE: Style = AnsiColor::Red.on_default();
pub const GOOD: Style = AnsiColor::Green.on_default();
pub const GOOD_BOLD: Style = AnsiColor::Green.on_default().bold();
pub const BAD: Style = AnsiColor::Red.on_default();
pub const BAD_BOLD: Style = AnsiColor::Red.on_default().bold();
pub const PENDING: Style = AnsiColor::Yellow.on_default();
pub const PAUSED: Style = AnsiColor::Cyan.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();

/// Paints text for one output stream, or leaves it plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub const PLAIN: Paint = Paint { on: false };

    pub fn new(on: bool) -> Paint {
        Paint { on }
    }

    /// For text written to stderr (progress, errors).
    pub fn stderr() -> Paint {
        Paint::new(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
    }

    /// For text written to stdout (tables, summaries).
    pub fn stdout() -> Paint {
        Paint::new(anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never)
    }

    pub fn is_on(self) -> bool {
        self.on
    }

    pub fn paint(self, style: Style, text: &str) -> String {
        if self.on && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// Records `--no-color` (or `NO_COLOR` from kindling's environment handle) for every stream.
pub fn disable_colour(off: bool) {
    if off {
        anstream::ColorChoice::Never.write_global();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_has_no_escape_codes_and_painted_text_resets() {
        assert_eq!(Paint::PLAIN.paint(ERROR, "error:"), "error:");
        let painted = Paint::new(true).paint(ERROR, "error:");
        assert!(painted.starts_with("\x1b["), "{painted:?}");
        assert!(painted.ends_with("\x1b[0m"), "{painted:?}");
        assert_eq!(Paint::new(true).paint(ERROR, ""), "");
    }
}
