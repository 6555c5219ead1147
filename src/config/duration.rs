//! Durations as PostgreSQL spells them in settings (`"30s"`, `"5min"`, `"250ms"`, `"1h"`).
//!
//! Parsing happens during deserialization so that a bad value is reported by the TOML
//! parser with its line, like every other configuration error.

use std::fmt;
use std::time::Duration;

/// A non-negative duration written with a PostgreSQL unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgDuration(pub Duration);

impl PgDuration {
    /// Milliseconds, as `SET statement_timeout` takes them.
    pub fn as_millis(self) -> u128 {
        self.0.as_millis()
    }
}

impl std::str::FromStr for PgDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| {
            format!("{s:?} is not a duration; write e.g. \"30s\", \"5min\", \"250ms\"")
        })?;
        let ms = match unit.trim() {
            "ms" => Some(n),
            "s" | "" => n.checked_mul(1_000),
            "min" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            "d" => n.checked_mul(86_400_000),
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?}; use ms, s, min, h or d"
                ))
            }
        }
        .filter(|ms| *ms <= i32::MAX as u64)
        .ok_or_else(|| format!("{s:?} is too long for PostgreSQL (at most 24 days)"))?;
        Ok(PgDuration(Duration::from_millis(ms)))
    }
}

impl fmt::Display for PgDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

impl<'de> serde::Deserialize<'de> for PgDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgres_units() {
        let ms = |s: &str| s.parse::<PgDuration>().map(|d| d.as_millis());
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("30s"), Ok(30_000));
        assert_eq!(ms("5min"), Ok(300_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("12"), Ok(12_000));
        assert!(ms("5 parsecs").is_err());
        assert!(ms("-1s").is_err());
        assert!(ms("99999999d").is_err());
    }
}
