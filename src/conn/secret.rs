//! A password that never prints: its `Debug` and `Display` say `(redacted)`, so it cannot
//! leak into a log line, an error message or a panic by accident.

use std::fmt;

/// A secret string, redacted by type.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_prints() {
        let s = super::Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "(redacted) (redacted)");
        assert_eq!(s.expose(), "hunter2");
    }
}
