//! The `oh-fitbit` program: the web and worker processes, the operator's commands and, with the
//! `lab` feature, the local stack, the simulators and the benchmarks, as subcommands of one
//! binary (see `main.rs`).

#[cfg(feature = "lab")]
pub mod lab;
pub mod memory;
pub mod operator;
pub mod processes;
pub mod shutdown;
pub mod telemetry;
