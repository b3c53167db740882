//! The one place the CLI writes its results to stdout. `print!`/`println!` inside `cli` are
//! these (see the macros in cli/mod.rs), so every command gets the same behaviour: a closed
//! stdout (`kindling ... | head -1`) ends the process quietly with the conventional status,
//! never a panic message; any other write error is reported once.

use std::fmt;
use std::io::Write;

/// Writes formatted text to stdout and flushes it, so a failure shows up at the write.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        drop(out);
        super::exit::stdout_failed(e);
    }
}
