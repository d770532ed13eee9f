//! The `oh-fitbit` program: the web and worker processes, the local stack and the simulators,
//! as subcommands of one binary (see `main.rs`).

pub mod bench;
pub mod memory;
pub mod operator;
pub mod processes;
pub mod shutdown;
pub mod stack;
pub mod telemetry;
