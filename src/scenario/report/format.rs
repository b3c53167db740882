//! Small formatting shared by the renderers.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// "PASS" or "FAIL".
pub fn verdict(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

/// The machine's offset from UTC at `started_at` (RFC 3339), from the system's time zone
/// through the time crate; None when it cannot tell (the report then shows UTC and says so).
pub fn local_offset(started_at: &str) -> Option<UtcOffset> {
    let at = OffsetDateTime::parse(started_at, &Rfc3339).ok()?;
    UtcOffset::local_offset_at(at).ok()
}

/// `started_at` (RFC 3339) for people, in the zone of `offset`: "2026-11-26 08:00:00
/// UTC+01:00"; without an offset in UTC, saying the local zone is unknown. A time that does
/// not parse is shown as it is.
pub fn local_time(started_at: &str, offset: Option<UtcOffset>) -> String {
    let Ok(at) = OffsetDateTime::parse(started_at, &Rfc3339) else {
        return started_at.to_string();
    };
    let local = at.to_offset(offset.unwrap_or(UtcOffset::UTC));
    let clock = local
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_else(|_| started_at.to_string());
    match offset {
        None => format!("{clock} UTC (local time zone unknown)"),
        Some(o) if o.is_utc() => format!("{clock} UTC"),
        Some(o) => {
            let zone = o
                .format(format_description!(
                    "[offset_hour sign:mandatory]:[offset_minute]"
                ))
                .unwrap_or_default();
            format!("{clock} UTC{zone}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::offset;

    #[test]
    fn start_time_is_shown_in_the_local_zone_with_the_zone_named() {
        let at = "2026-11-26T07:00:00Z";
        assert_eq!(
            local_time(at, Some(offset!(+1))),
            "2026-11-26 08:00:00 UTC+01:00"
        );
        assert_eq!(
            local_time(at, Some(offset!(-5:30))),
            "2026-11-26 01:30:00 UTC-05:30"
        );
        assert_eq!(
            local_time(at, Some(UtcOffset::UTC)),
            "2026-11-26 07:00:00 UTC"
        );
        assert_eq!(
            local_time(at, None),
            "2026-11-26 07:00:00 UTC (local time zone unknown)"
        );
        assert_eq!(local_time("yesterday", None), "yesterday");
    }

    #[test]
    fn the_local_offset_comes_from_the_system_for_a_recorded_start() {
        // Whatever the machine's zone, a valid start time gets an offset, a bad one none.
        assert!(local_offset("2026-11-26T07:00:00Z").is_some());
        assert_eq!(local_offset("not a time"), None);
    }
}
