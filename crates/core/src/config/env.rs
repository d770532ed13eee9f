//! Reading configuration variables, with errors that name the variable.
//!
//! All configuration comes from the environment, is parsed once at start into typed structs, and
//! any problem stops the process with a message naming the variable (crates.io's
//! `crates_io_env_vars` is the model).

use std::{collections::HashMap, fmt::Display, str::FromStr};

use secrecy::SecretString;

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where variables come from: the process environment, or a map in tests.
pub struct Environment {
    lookup: Lookup,
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

impl Environment {
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    pub fn from_map(map: HashMap<String, String>) -> Self {
        Self {
            lookup: Box::new(move |name| map.get(name).cloned()),
        }
    }

    /// The variable's value; unset and empty are the same (Heroku config vars cannot be unset
    /// from app.json, only left empty).
    pub fn var(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.var(name)
            .ok_or_else(|| ConfigError::new(name, "is required but not set"))
    }

    pub fn secret(&self, name: &'static str) -> Result<SecretString, ConfigError> {
        self.required(name).map(SecretString::from)
    }

    pub fn parsed<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.var(name)
            .map(|value| {
                value.trim().parse().map_err(|error| {
                    ConfigError::new(name, format!("cannot parse {value:?}: {error}"))
                })
            })
            .transpose()
    }

    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.parsed(name)?.unwrap_or(default))
    }

    pub fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        self.flag_or(name, false)
    }

    /// A true/false variable, `default` when unset.
    pub fn flag_or(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self
            .var(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError::new(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn errors_name_the_variable() {
        let env = env(&[("PORT", "eighty"), ("EMPTY", "  ")]);
        let error = env.parsed::<u16>("PORT").unwrap_err();
        assert_eq!(error.variable, "PORT");
        assert!(
            error
                .to_string()
                .starts_with("PORT: cannot parse \"eighty\"")
        );
        let error = env.required("EMPTY").unwrap_err();
        assert_eq!(error.to_string(), "EMPTY: is required but not set");
    }

    #[test]
    fn flags_accept_the_usual_spellings_and_reject_others() {
        let env = env(&[("A", "TRUE"), ("B", "0"), ("C", "maybe")]);
        assert!(env.flag("A").unwrap());
        assert!(!env.flag("B").unwrap());
        assert!(!env.flag("UNSET").unwrap());
        assert_eq!(env.flag("C").unwrap_err().variable, "C");
    }
}
