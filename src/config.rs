//! Runtime configuration from `[vars]` in `wrangler.toml`, with the defaults the design names.
//! Read through a lookup function so that it can be tested without a Workers environment.

use std::fmt;

/// Where the worker runs; the hourly sync only runs in production.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Development => "development",
            Environment::Production => "production",
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub environment: Environment,
}

/// A `[vars]` entry that is present but unusable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration variable {}: {}", self.var, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Builds the configuration from a variable lookup (`env.var(..)` on Workers).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let environment = match lookup("ENVIRONMENT").as_deref().map(str::trim) {
            None | Some("") | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    var: "ENVIRONMENT",
                    reason: format!("expected development or production, got {other:?}"),
                });
            }
        };
        Ok(Config { environment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_defaults_to_development() {
        let config = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.environment, Environment::Development);
        let config = Config::from_lookup(lookup(&[("ENVIRONMENT", "production")])).unwrap();
        assert_eq!(config.environment, Environment::Production);
    }

    #[test]
    fn unknown_environment_is_an_error_naming_the_variable() {
        let err = Config::from_lookup(lookup(&[("ENVIRONMENT", "staging")])).unwrap_err();
        assert_eq!(err.var, "ENVIRONMENT");
        assert!(err.to_string().contains("staging"));
    }
}
