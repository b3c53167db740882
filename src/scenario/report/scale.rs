//! Scales and ticks for the report's chart: domain values to pixels, time ticks people read
//! easily, the top of the error strip.

/// Maps a domain interval onto a pixel interval (either may be reversed), clamping.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Linear {
    pub fn at(&self, v: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return r0;
        }
        let t = ((v - d0) / (d1 - d0)).clamp(0.0, 1.0);
        r0 + t * (r1 - r0)
    }
}

/// A tick spacing in seconds that people read easily (5 s, 30 s, 1 min, 5 min …) giving
/// at most `max_ticks` intervals over `span` seconds.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    let max_ticks = max_ticks.max(1) as f64;
    STEPS
        .iter()
        .copied()
        .find(|step| span / step <= max_ticks)
        .unwrap_or_else(|| (span / max_ticks / 3600.0).ceil() * 3600.0)
}

/// 0, step, 2·step … up to and including `max`.
pub fn ticks(max: f64, step: f64) -> Vec<f64> {
    if step <= 0.0 || max < 0.0 {
        return vec![0.0];
    }
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= max + 1e-9)
        .collect()
}

/// Seconds as "m:ss" (or "h:mm:ss").
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The top of the error strip's scale (percent): the smallest of 1, 2, 5 … 100 that holds
/// the worst second, so a few failed requests show and 1% (the canary's bound) is on it.
pub fn error_scale(max_rate: f64) -> f64 {
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        .into_iter()
        .find(|top| max_rate <= *top)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_maps_ends_middle_and_clamps_also_when_reversed() {
        let y = Linear {
            domain: (0.0, 100.0),
            range: (300.0, 40.0),
        };
        assert_eq!(y.at(0.0), 300.0);
        assert_eq!(y.at(100.0), 40.0);
        assert_eq!(y.at(50.0), 170.0);
        assert_eq!(y.at(150.0), 40.0);
        assert_eq!(y.at(-5.0), 300.0);
        let flat = Linear {
            domain: (3.0, 3.0),
            range: (10.0, 20.0),
        };
        assert_eq!(flat.at(3.0), 10.0);
    }

    #[test]
    fn tick_steps_are_readable_and_bounded() {
        assert_eq!(nice_step(10.0, 12), 1.0);
        assert_eq!(nice_step(50.0, 12), 5.0);
        assert_eq!(nice_step(180.0, 12), 15.0);
        assert_eq!(nice_step(600.0, 12), 60.0);
        assert_eq!(nice_step(100_000.0, 12), 10_800.0);
        assert_eq!(ticks(30.0, 10.0), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(35.0, 10.0), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(5.0, 0.0), vec![0.0]);
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(75.4), "1:15");
        assert_eq!(clock(3725.0), "1:02:05");
    }

    #[test]
    fn error_strip_scale_holds_the_worst_second_and_the_one_percent_bound() {
        assert_eq!(error_scale(0.0), 1.0);
        assert_eq!(error_scale(0.4), 1.0);
        assert_eq!(error_scale(1.3), 2.0);
        assert_eq!(error_scale(50.0), 50.0);
        assert_eq!(error_scale(52.0), 100.0);
    }
}
