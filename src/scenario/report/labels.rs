//! Where the chart's marker labels go so that no text covers other text: an upper bound of
//! a text's width (an SVG written ahead of time cannot measure it), and rows above the plot
//! that hold every marker's label, however close the markers are.

/// An upper bound of `text`'s width in px at `size` px in the report's sans-serif faces
/// (system-ui, Segoe UI, Roboto, DejaVu Sans). The advance widths are DejaVu Sans's, the
/// widest of them, rounded up by class: lower case and digits ≤ 0.64 em, capitals ≤ 0.79,
/// `m`, `w`, `M`, `W`, `%` ≤ 0.99.
pub fn text_width(text: &str, size: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' | 'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.34,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '/' | '-' | '"' => 0.5,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 1.0,
            'A'..='Z' => 0.8,
            c if c.is_ascii() => 0.66,
            _ => 1.0,
        })
        .sum();
    em * size
}

/// `text` cut to at most `max` characters, with "…" when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Which side of its marker's line a label is drawn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Right,
    Left,
}

/// A label's place: its row (0 is nearest the plot) and side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub row: usize,
    pub side: Side,
}

/// Room kept between a label and its own line, and between two labels on a row.
const GAP: f64 = 4.0;
/// Less than 2 × GAP: two labels may sit either side of one line.
const SPACING: f64 = 6.0;
/// Room kept around a line where it passes a row.
const LINE_CLEARANCE: f64 = 3.0;

/// Places marker labels in rows above the plot. Markers come in time order: `xs[i]` is the
/// marker's line, `widths[i]` its label's width; a label sits beside its line, right of it
/// unless it would pass `bounds.1`. Each goes on the lowest row where it covers no other label
/// and no line passing through that row, and where its own line, which runs down through the
/// rows below, crosses no label. When no row avoids a crossing, the lowest row where the
/// label itself fits is taken (the line then runs behind a label, which stays readable).
/// A label wider than half of `bounds` may pass its edge.
pub fn stack(xs: &[f64], widths: &[f64], bounds: (f64, f64)) -> Vec<Slot> {
    // Per row: the labels' spans and the lines passing through.
    let mut labels: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut lines: Vec<Vec<f64>> = Vec::new();
    let mut slots = Vec::with_capacity(xs.len());
    for (&x, &width) in xs.iter().zip(widths) {
        let span = |side| match side {
            Side::Right => (x + GAP, x + GAP + width),
            Side::Left => (x - GAP - width, x - GAP),
        };
        let sides = [Side::Right, Side::Left];
        let inside = |s: (f64, f64)| s.0 >= bounds.0 && s.1 <= bounds.1;
        let fits = |row: usize, s: (f64, f64)| {
            labels.get(row).is_none_or(|spans| {
                spans
                    .iter()
                    .all(|&(a, b)| s.1 + SPACING <= a || b + SPACING <= s.0)
            }) && lines.get(row).is_none_or(|xs| {
                xs.iter()
                    .all(|&l| l + LINE_CLEARANCE <= s.0 || s.1 + LINE_CLEARANCE <= l)
            })
        };
        let crosses = |row: usize| {
            labels[..row.min(labels.len())].iter().any(|spans| {
                spans
                    .iter()
                    .any(|&(a, b)| a - LINE_CLEARANCE < x && x < b + LINE_CLEARANCE)
            })
        };
        // The first free row is always a new one on top, where nothing can be in the way.
        let candidates = (0..=labels.len()).flat_map(|row| sides.map(|side| (row, side)));
        let chosen = candidates
            .clone()
            .find(|&(row, side)| inside(span(side)) && fits(row, span(side)) && !crosses(row))
            .or_else(|| {
                candidates
                    .clone()
                    .find(|&(row, side)| inside(span(side)) && fits(row, span(side)))
            })
            .unwrap_or((labels.len(), Side::Right));
        let (row, side) = chosen;
        if row == labels.len() {
            labels.push(Vec::new());
            lines.push(Vec::new());
        }
        labels[row].push(span(side));
        for below in &mut lines[..row] {
            below.push(x);
        }
        slots.push(Slot { row, side });
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
        a.0 < b.1 && b.0 < a.1
    }

    #[test]
    fn widths_bound_dejavu_sans_advances() {
        // DejaVu Sans at 100 px: "0:00" is 63.6 + 33.7 + 63.6 + 63.6 = 224.5 px.
        assert!(text_width("0:00", 100.0) >= 224.5);
        // "100%": 3 × 63.6 + 95.0 = 285.8 px.
        assert!(text_width("100%", 100.0) >= 285.8);
        assert!(
            text_width("Healthy", 15.0) < 7.0 * 15.0 * 0.75,
            "not absurdly wide"
        );
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(truncate("setWeight 20", 20), "setWeight 20");
        assert_eq!(truncate("paused: BlueGreenPause", 10), "paused: B…");
        assert_eq!(truncate("a b       c", 5), "a b…");
    }

    #[test]
    fn markers_far_apart_share_the_bottom_row() {
        let slots = stack(&[100.0, 400.0, 700.0], &[150.0; 3], (0.0, 960.0));
        assert!(slots.iter().all(|s| s.row == 0 && s.side == Side::Right));
    }

    #[test]
    fn markers_at_one_instant_each_get_a_label_and_no_label_covers_another() {
        let xs = [200.0, 200.0, 200.0, 204.0, 206.0, 350.0, 352.0];
        let widths = [180.0; 7];
        let slots = stack(&xs, &widths, (0.0, 960.0));
        let spans: Vec<(usize, (f64, f64))> = slots
            .iter()
            .zip(xs.iter().zip(&widths))
            .map(|(slot, (&x, &w))| {
                let span = match slot.side {
                    Side::Right => (x + GAP, x + GAP + w),
                    Side::Left => (x - GAP - w, x - GAP),
                };
                (slot.row, span)
            })
            .collect();
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                assert!(a.0 != b.0 || !overlap(a.1, b.1), "{a:?} and {b:?}");
            }
        }
        // Two at the same instant fill both sides of one line before a new row is opened.
        assert_eq!(
            slots[0],
            Slot {
                row: 0,
                side: Side::Right
            }
        );
        assert_eq!(
            slots[1],
            Slot {
                row: 0,
                side: Side::Left
            }
        );
        assert!(slots.iter().map(|s| s.row).max().unwrap() <= 4, "{slots:?}");
    }

    #[test]
    fn a_label_never_sits_on_a_line_passing_its_row() {
        // The third label goes up a row (its line passes row 0 between the first two labels);
        // the fourth would fit on row 0 but for that line, so it goes up too.
        let slots = stack(
            &[100.0, 300.0, 180.0, 170.0],
            &[50.0, 100.0, 150.0, 40.0],
            (0.0, 960.0),
        );
        assert_eq!(
            slots[2],
            Slot {
                row: 1,
                side: Side::Right
            }
        );
        assert_eq!(
            slots[3],
            Slot {
                row: 1,
                side: Side::Left
            }
        );
    }

    #[test]
    fn when_every_row_is_crossed_the_lowest_that_fits_is_taken() {
        // The second line runs through the first label whatever the row.
        let slots = stack(&[100.0, 160.0], &[200.0, 40.0], (0.0, 960.0));
        assert_eq!(
            slots[1],
            Slot {
                row: 1,
                side: Side::Right
            }
        );
    }

    #[test]
    fn a_label_near_the_right_edge_goes_left_of_its_line() {
        let slots = stack(&[900.0], &[200.0], (0.0, 960.0));
        assert_eq!(
            slots[0],
            Slot {
                row: 0,
                side: Side::Left
            }
        );
    }
}
