// Injected by tests/browser_support into a copy of a report page, never shipped. Once the page
// is laid out, it measures every piece of rendered text and writes what an audience at the
// back of a room could not read into <pre id="layout-check"> as JSON (read back with
// `chromium --dump-dom`):
//   overlaps: pairs of text boxes that cover each other
//   small:    text rendered below the minimum size (CSS px, after the SVG's scaling)
//   clipped:  text outside its SVG's box or the page's width
//   banner:   the banner's text as rendered (innerText: only what is visible)
//   markers:  how many chart markers there are, and how many show a label with text
(function () {
  "use strict";
  const MIN_PX = Number(document.documentElement.dataset.minFontPx || "16");

  function describe(text, rect, size) {
    return {
      text: text.length > 80 ? text.slice(0, 77) + "..." : text,
      x: Math.round(rect.left),
      y: Math.round(rect.top),
      w: Math.round(rect.width),
      h: Math.round(rect.height),
      size: Math.round(size * 10) / 10,
    };
  }

  // One entry per SVG <text> (its tspans are one run) and per line fragment of HTML text.
  function textBoxes() {
    const boxes = [];
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data.replace(/\s+/g, " ").trim();
      const parent = node.parentElement;
      if (!text || !parent || parent.closest("title, style, script, #layout-check")) continue;
      const style = getComputedStyle(parent);
      if (style.visibility !== "visible" || style.display === "none") continue;
      const svgText = parent.closest("text");
      if (svgText && parent.closest("svg")) {
        if (seen.has(svgText)) continue;
        seen.add(svgText);
        const rect = svgText.getBoundingClientRect();
        if (rect.width < 0.5 || rect.height < 0.5) continue;
        const m = svgText.getScreenCTM();
        const scale = Math.sqrt(m.a * m.a + m.b * m.b);
        const size = parseFloat(getComputedStyle(svgText).fontSize) * scale;
        boxes.push({ text: svgText.textContent.trim(), rect, size, svg: svgText.closest("svg") });
        continue;
      }
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) {
        // Zero-size: not rendered (a closed <details>, collapsed whitespace).
        if (rect.width < 0.5 || rect.height < 0.5) continue;
        boxes.push({ text, rect, size: parseFloat(style.fontSize), svg: null });
      }
    }
    return boxes;
  }

  // A text box's height includes the font's leading above and below the glyphs; two lines
  // that merely touch are not an overlap, glyphs drawn over glyphs are.
  function inked(rect) {
    const dy = rect.height * 0.15;
    return { l: rect.left + 1, r: rect.right - 1, t: rect.top + dy, b: rect.bottom - dy };
  }

  function intersects(a, b) {
    return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
  }

  function check() {
    const boxes = textBoxes();
    const overlaps = [];
    for (let i = 0; i < boxes.length; i++) {
      const a = inked(boxes[i].rect);
      for (let j = i + 1; j < boxes.length; j++) {
        if (intersects(a, inked(boxes[j].rect))) {
          overlaps.push([
            describe(boxes[i].text, boxes[i].rect, boxes[i].size),
            describe(boxes[j].text, boxes[j].rect, boxes[j].size),
          ]);
        }
      }
    }
    const small = boxes
      .filter((b) => b.size < MIN_PX - 0.05)
      .map((b) => describe(b.text, b.rect, b.size));
    const pageWidth = document.documentElement.clientWidth;
    const clipped = boxes
      .filter((b) => {
        const r = b.rect;
        if (r.left < -0.5 || r.right > pageWidth + 0.5) return true;
        if (!b.svg) return false;
        const s = b.svg.getBoundingClientRect();
        return r.left < s.left - 0.5 || r.right > s.right + 0.5 || r.top < s.top - 0.5 || r.bottom > s.bottom + 0.5;
      })
      .map((b) => describe(b.text, b.rect, b.size));
    const banner = document.querySelector(".banner");
    const markers = Array.from(document.querySelectorAll("svg .marker"));
    const labelled = markers.filter((m) => {
      const label = m.querySelector("text.label");
      const rect = label ? label.getBoundingClientRect() : null;
      return label && label.textContent.trim() && rect.width > 0.5 && rect.height > 0.5;
    });
    const result = {
      viewport: [window.innerWidth, window.innerHeight],
      minFontPx: MIN_PX,
      texts: boxes.length,
      overlaps,
      small,
      clipped,
      banner: banner ? banner.innerText : null,
      markers: markers.length,
      labelledMarkers: labelled.length,
    };
    const out = document.createElement("pre");
    out.id = "layout-check";
    // Only JSON's own escapes: the serialised DOM then holds the JSON verbatim.
    out.textContent = JSON.stringify(result).replace(
      /[<>&\u00a0]/g,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    );
    document.body.appendChild(out);
  }

  if (document.readyState === "complete") {
    check();
  } else {
    window.addEventListener("load", check);
  }
})();
