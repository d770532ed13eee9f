//! Logging: human-readable lines on stderr, filtered by `RUST_LOG` (default `info`). On Heroku
//! (`DYNO` set) the timestamp is left out because the log router adds its own; colours only go to
//! a terminal.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let result = if std::env::var_os("DYNO").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging was already initialised: {error}");
    }
}
