//! The worker side of the benchmark: a process of its own, configured from the environment like
//! `oh-fitbit worker`, that runs the one queued job and prints what it used as one JSON line,
//! so the figures cover the worker alone and not the simulators serving it.

use std::time::{Duration, Instant};

use anyhow::bail;
use oh_fitbit_core::config::Environment;
use oh_fitbit_worker::{Execution, Worker};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::usage::{self, Usage};
use crate::processes;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ImporterReport {
    pub wall: Duration,
    pub usage: Usage,
    /// How the job ended, as the queue recorded it.
    pub completed: String,
}

pub async fn run_one_job() -> anyhow::Result<()> {
    let worker = Worker::new(processes::worker_context_from_env(&Environment::process()).await?);
    let started = Instant::now();
    let completed = match worker.try_execute_one(&CancellationToken::new()).await? {
        Execution::Ran { completed, .. } => format!("{completed:?}"),
        Execution::Empty => bail!("no job was queued for the benchmark's importer"),
    };
    let report = ImporterReport {
        wall: started.elapsed(),
        usage: usage::of_this_process()?,
        completed,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
