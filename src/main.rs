//! `oh-fitbit`: one binary, one subcommand per process. Heroku's Procfile runs `web` and
//! `worker`; a newcomer runs `dev`.

use clap::{Parser, Subcommand};
use oh_fitbit::{operator, processes, telemetry};

#[derive(Parser)]
#[command(
    version,
    about = "Imports members' Fitbit data (through the Google Health API) into Open Humans"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The web process (configured from the environment; see SETUP.md).
    Web,
    /// The worker process (configured from the environment; see SETUP.md).
    Worker,
    /// The local stack, the simulators and the benchmarks (builds with the `lab` feature).
    #[cfg(feature = "lab")]
    #[command(flatten)]
    Lab(oh_fitbit::lab::Command),
    /// Copies the member records an earlier version kept in Redis into the database (safe to
    /// run again: what the database has already is left alone). Configured like the worker.
    MigrateFromRedis,
    /// Rotating the token key: what each key sealed, and sealing again with the current key
    /// what an old one sealed. Configured like the worker.
    #[command(subcommand)]
    Keys(operator::Keys),
    #[command(flatten)]
    Operator(operator::Command),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Both aws-lc-rs (reqwest) and a ring-backed rustls may be linked; choosing the provider up
    // front keeps Redis TLS from panicking on an ambiguous default.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Err(error) = telemetry::init() {
        eprintln!("oh-fitbit: {error:#}");
        return std::process::ExitCode::FAILURE;
    }
    oh_fitbit::memory::keep_large_buffers_mapped();
    let result = match Cli::parse().command {
        Command::Web => processes::web().await,
        Command::Worker => processes::worker().await,
        #[cfg(feature = "lab")]
        Command::Lab(command) => oh_fitbit::lab::run(command).await,
        Command::MigrateFromRedis => {
            operator::migrate_from_redis(
                &oh_fitbit_core::config::Environment::process(),
                &mut std::io::stdout().lock(),
            )
            .await
        }
        Command::Keys(command) => {
            operator::keys(
                &oh_fitbit_core::config::Environment::process(),
                command,
                &mut std::io::stdout().lock(),
            )
            .await
        }
        Command::Operator(command) => operator::run(command).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("oh-fitbit: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
