//! Where the configuration file is: `--config`, then `$PGWARD_CONFIG`, then
//! `$XDG_CONFIG_HOME/pgward/config.toml` (`~/.config/pgward/config.toml`).

use std::path::{Path, PathBuf};

use super::{ConfigError, ConfigFile};

/// The default location, whether or not a file is there.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("pgward").join("config.toml"))
}

/// The file to read: an explicit path must exist; the default may be absent.
pub fn find(explicit: Option<&Path>, var: Option<PathBuf>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or(var)
        .or_else(|| default_path().filter(|p| p.exists()))
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses configuration text; errors carry the line of the offending key or value.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message: e.message().trim().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, String) {
        match parse(text, Path::new("pgward.toml")) {
            Err(ConfigError::Invalid { line, message, .. }) => (line, message),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let (line, msg) = err("[environments.prod]\nurl = \"host=db\"\nwrite_rol = \"app\"\n");
        assert_eq!(line, 3);
        assert!(msg.contains("write_rol"), "{msg}");
    }

    #[test]
    fn bad_duration_names_line() {
        let (line, msg) =
            err("[environments.prod]\nurl = \"host=db\"\n\nstatement_timeout = \"5 parsecs\"\n");
        assert_eq!(line, 4);
        assert!(msg.contains("parsecs"), "{msg}");
    }

    #[test]
    fn missing_url_is_an_error() {
        let (line, msg) = err("[environments.prod]\nwrite_role = \"app\"\n");
        assert!(line <= 2);
        assert!(msg.contains("url"), "{msg}");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../config/pgward.example.toml");
        let file = parse(text, Path::new("example")).expect("example parses");
        assert!(file.environments.contains_key("prod"));
    }
}
