//! `[timeouts]`: written as text ("90s", "10m", "1h 30m"), parsed once at load into bounded
//! durations. Code reads `Duration`s; nothing re-parses or falls back to a default.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

/// The longest timeout accepted: a day. Longer means a typo (or an overflow waiting to
/// happen when a deadline is computed), not a wish.
pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// Why a timeout's text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NotADuration(String),
    Zero,
    TooLong,
}

/// Parses and bounds one timeout: longer than zero, at most `MAX`.
pub fn parse(text: &str) -> Result<Duration, Problem> {
    match humantime::parse_duration(text) {
        Err(e) => Err(Problem::NotADuration(e.to_string())),
        Ok(d) if d.is_zero() => Err(Problem::Zero),
        Ok(d) if d > MAX => Err(Problem::TooLong),
        Ok(d) => Ok(d),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Connecting to the Docker engine.
    #[serde(with = "text")]
    pub docker: Duration,
    /// A registry container answering.
    #[serde(with = "text")]
    pub registry: Duration,
    /// Creating the kind cluster.
    #[serde(with = "text")]
    pub cluster: Duration,
    /// A platform component becoming ready.
    #[serde(with = "text")]
    pub component: Duration,
    /// A demo Rollout finishing.
    #[serde(with = "text")]
    pub rollout: Duration,
}

/// Serde for one timeout as the text users write.
mod text {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        humantime::format_duration(*d).to_string().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(|p| {
            serde::de::Error::custom(match p {
                Problem::NotADuration(e) => format!("{text:?} is not a duration: {e}"),
                Problem::Zero => "must be longer than zero".into(),
                Problem::TooLong => "must be at most 24h".into(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_bounded_and_round_trip_as_text() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("24h"), Ok(MAX));
        assert_eq!(parse("0s"), Err(Problem::Zero));
        assert_eq!(parse("25h"), Err(Problem::TooLong));
        // u64::MAX seconds parses as a Duration; adding to it would overflow.
        assert_eq!(parse("18446744073709551615s"), Err(Problem::TooLong));
        assert!(matches!(parse("soon"), Err(Problem::NotADuration(_))));

        let t: Timeouts = toml::from_str(
            "docker = \"15s\"\nregistry = \"1m 30s\"\ncluster = \"10m\"\ncomponent = \"1h\"\nrollout = \"2h 5m\"\n",
        )
        .unwrap();
        assert_eq!(t.registry, Duration::from_secs(90));
        let back: Timeouts = toml::from_str(&toml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let err = toml::from_str::<Timeouts>(
            "docker = \"0s\"\nregistry = \"1s\"\ncluster = \"1s\"\ncomponent = \"1s\"\nrollout = \"1s\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("longer than zero"), "{err}");
    }
}
