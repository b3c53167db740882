//! Lays a page out in a real browser: headless Chromium (Debian's `chromium`, installed by
//! scripts/lib/prepare.sh) loads a copy of the page with layout_check.js injected, and
//! `--dump-dom` hands back what the script measured. Include with `mod browser_support;`.
#![allow(dead_code)]

pub mod runs;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The smallest text (CSS px at the projector's viewport) a workshop audience reads from the
/// back of a room: the browser's default body size.
pub const MIN_FONT_PX: f64 = 16.0;
/// A common projector resolution (720p), at one device pixel per CSS pixel.
pub const VIEWPORT: (u32, u32) = (1280, 720);

const CHECK_SCRIPT: &str = include_str!("layout_check.js");

/// Chromium's binary: $KINDLING_TEST_CHROMIUM, else `chromium` (Debian),
/// `chromium-browser` or Google Chrome on PATH. None = skip (a failure under CI=true).
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KINDLING_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    crate::support::skip(
        "no chromium on PATH (scripts/test.sh installs Debian's `chromium` when run as root; or set KINDLING_TEST_CHROMIUM)",
    )
}

/// What layout_check.js measured on the laid-out page.
#[derive(Debug)]
pub struct Layout {
    pub json: Value,
}

impl Layout {
    pub fn texts(&self) -> u64 {
        self.json["texts"].as_u64().unwrap_or(0)
    }

    pub fn list(&self, key: &str) -> &[Value] {
        self.json[key].as_array().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The banner's visible text.
    pub fn banner(&self) -> &str {
        self.json["banner"].as_str().unwrap_or("")
    }

    /// (markers on the charts, markers showing a label).
    pub fn markers(&self) -> (u64, u64) {
        (
            self.json["markers"].as_u64().unwrap_or(0),
            self.json["labelledMarkers"].as_u64().unwrap_or(0),
        )
    }

    /// Panics listing every overlap, too-small and clipped text.
    pub fn assert_readable(&self, what: &str) {
        assert!(
            self.texts() > 10,
            "{what}: the check measured almost no text: {}",
            self.json
        );
        let mut problems = Vec::new();
        for pair in self.list("overlaps") {
            problems.push(format!("overlap: {} and {}", pair[0], pair[1]));
        }
        for text in self.list("small") {
            problems.push(format!("below {MIN_FONT_PX}px: {text}"));
        }
        for text in self.list("clipped") {
            problems.push(format!("clipped: {text}"));
        }
        assert!(
            problems.is_empty(),
            "{what}: {} problem(s) in the laid-out page at {}x{}:\n{}",
            problems.len(),
            VIEWPORT.0,
            VIEWPORT.1,
            problems.join("\n")
        );
    }
}

/// Loads `html` (a copy, with the check script added) in headless Chromium at `VIEWPORT` and
/// returns what the script measured.
pub fn lay_out(chromium: &Path, html: &str) -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let script = format!(
        "<script>document.documentElement.dataset.minFontPx = \"{MIN_FONT_PX}\";</script><script>{CHECK_SCRIPT}</script></body>"
    );
    assert!(html.contains("</body>"), "a page with a body");
    std::fs::write(&page, html.replacen("</body>", &script, 1)).unwrap();
    let profile = dir.path().join("profile");
    // `timeout` bounds a hung browser; the virtual time budget lets the load handler run
    // before the DOM is dumped, without waiting in real time.
    let out = Command::new("timeout")
        .args(["--kill-after=10", "180"])
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--window-size={},{}", VIEWPORT.0, VIEWPORT.1))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The last one: the script's own text (echoed in the DOM) names the element too.
    let start = dom.rfind("<pre id=\"layout-check\">").unwrap_or_else(|| {
        panic!(
            "chromium exited {:?} without the check's result\nstderr:\n{stderr}",
            out.status
        )
    });
    let body = &dom[start + "<pre id=\"layout-check\">".len()..];
    let end = body.find("</pre>").expect("the result element is closed");
    let json: Value = serde_json::from_str(&body[..end])
        .unwrap_or_else(|e| panic!("the check's result is JSON ({e}): {}", &body[..end]));
    Layout { json }
}
