//! `oh-fitbit bench`: the benchmarks. `bench queue` (in `queue.rs`) cycles jobs through the
//! Redis queue. `bench import` (here) imports the simulator's ten-year persona, heart rate every few
//! seconds, into a fresh local stack, with the worker in a process of its own, and prints the
//! figures issue 3 sets targets for: requests against the catalogue's minimum, the time they
//! take at Google's 300 requests per minute, the worker's CPU time, data points per CPU second,
//! its peak memory, and the gzipped bytes uploaded against the gzipped API responses.
//!
//! Each history length runs in a fresh stack and a fresh worker process, so the peak memory of
//! a short and a long history can be compared.

mod importer;
mod queue;
mod tally;
mod usage;
mod verify;

use std::{process::Stdio, time::Duration};

use anyhow::{Context, bail};
use jiff::{Timestamp, ToSpan};
use oh_fitbit_core::{
    config::WorkerConfig,
    members::{ImportPreferences, IntradayResolution},
    redis_conn::Redis,
};
use oh_fitbit_sim::openhumans::OpenHumansSimConfig;
use secrecy::ExposeSecret;
use serde_json::json;

pub use importer::run_one_job;
pub use queue::{QueueBenchOptions, queue};

use crate::lab::stack::{LocalStack, StackOptions};
use importer::ImporterReport;
use oh_fitbit_worker::DAILY_FILE_NAME;
use tally::Tally;

/// Google's documented per-user quota (reference §3).
const REQUESTS_PER_MINUTE: f64 = 300.0;
/// The persona's whole history.
const PERSONA_YEARS: u32 = 10;

#[derive(Clone, Debug, clap::Args)]
pub struct ImportBenchOptions {
    /// Seconds between heart-rate samples on worn time.
    #[arg(long, default_value_t = 5)]
    pub hr_interval_s: u32,
    /// The history lengths to import, in years, each into a fresh stack (at most 10).
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    pub years: Vec<u32>,
    /// Also compare every point of every intraday file with the simulator's ground truth
    /// (about as long again as the import).
    #[arg(long)]
    pub verify: bool,
}

pub async fn import(options: ImportBenchOptions) -> anyhow::Result<()> {
    println!(
        "Import benchmark: the simulator's persona, heart rate every {} s, intraday raw, worker in its own process",
        options.hr_interval_s
    );
    for &years in &options.years {
        if !(1..=PERSONA_YEARS).contains(&years) {
            bail!("--years: each length must be between 1 and {PERSONA_YEARS}");
        }
        let run = import_history(years, &options).await?;
        run.print(years);
    }
    Ok(())
}

struct Run {
    importer: ImporterReport,
    outcome: String,
    data_requests: u64,
    account_requests: u64,
    minimum_requests: u64,
    raw_gzip_bytes: u64,
    raw_bytes: u64,
    tally: Tally,
    /// Intraday points found equal to the ground truth, with `--verify`.
    verified_points: Option<u64>,
    /// What the member takes in the stores after the import: Redis, their database rows, and
    /// the database's tables and indexes in all.
    redis_bytes: u64,
    database_member_bytes: i64,
    database_bytes: i64,
}

async fn import_history(years: u32, options: &ImportBenchOptions) -> anyhow::Result<Run> {
    let staging = tempfile::tempdir()?;
    let stack = LocalStack::start(StackOptions {
        port: 0,
        redis_url: None,
        database_url: None,
        staging: oh_fitbit_core::config::StagingConfig::LocalDirectory(staging.path().join("web")),
        run_worker: false,
        worker: WorkerConfig::default(),
        sign_webhooks: true,
        more_open_humans_users: Vec::new(),
        // The bench measures the importer, through the simulator's one client.
        intraday_requires_own_client: false,
        web_limits: oh_fitbit_core::config::WebLimits::default(),
    })
    .await?;
    let knobs = json!({"hr_interval_s": options.hr_interval_s, "quota_per_user_per_min": u32::MAX});
    let browser = reqwest::Client::builder().cookie_store(true).build()?;
    browser
        .post(stack.google.base_url().join("__admin/knobs")?)
        .json(&knobs)
        .send()
        .await?
        .error_for_status()
        .context("setting the simulator's knobs")?;
    for step in ["openhumans/login", "fitbit/connect"] {
        browser
            .get(stack.url(step))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("linking the accounts: {step}"))?;
    }
    let member = OpenHumansSimConfig::local("").users[0]
        .project_member_id
        .clone();
    let today = stack.google.persona().today(Timestamp::now());
    let earliest_date = (years < PERSONA_YEARS)
        .then(|| today.checked_sub(i64::from(years).years()))
        .transpose()?;
    stack
        .members
        .save_preferences(
            &member.parse()?,
            &ImportPreferences {
                intraday: Some(IntradayResolution::Raw),
                earliest_date,
                left_out: Default::default(),
            },
        )
        .await?;

    let instruments = stack.google.instruments();
    instruments.journal.clear();
    instruments.wire.start("/v4/");
    let importer = run_worker_process(&stack, staging.path()).await?;
    let status = stack
        .worker
        .context()
        .queue
        .status(&member.parse()?)
        .await?;
    let outcome = match (status.last_outcome, status.message) {
        (Some(outcome), Some(message)) => format!("{outcome}: {message}"),
        (Some(outcome), None) => outcome,
        (None, _) => importer.completed.clone(),
    };

    let requests = instruments.journal.entries();
    let (data, account): (Vec<_>, Vec<_>) = requests
        .iter()
        .filter(|entry| entry.path.starts_with("/v4/"))
        .partition(|entry| entry.path.contains("/dataTypes/"));
    let account_paths: std::collections::BTreeSet<&str> =
        account.iter().map(|entry| entry.path.as_str()).collect();
    let mut tally = Tally::default();
    let first = earliest_date.unwrap_or(stack.google.persona().history_start());
    let mut check = options
        .verify
        .then(|| verify::IntradayCheck::new(&stack.google, first, today))
        .transpose()?;
    for file in stack.open_humans.files(&member) {
        let (true, Some(gzipped)) = (file.completed, file.bytes.as_deref()) else {
            continue;
        };
        let json = tally.add_file(&file.basename, gzipped)?;
        if let Some(check) = check.as_mut().filter(|_| file.basename != DAILY_FILE_NAME) {
            check.month_file(&file.basename, &json)?;
        }
    }
    let verified_points = check.map(verify::IntradayCheck::finish).transpose()?;
    let wire = instruments.wire.totals();
    let redis_bytes = Redis::new(&stack.redis, 1)?.bytes_used().await?;
    let database_member_bytes = stack.members.stored_bytes(&member.parse()?).await?;
    let database_bytes = stack.members.database().size_bytes().await?;
    let run = Run {
        importer,
        outcome,
        data_requests: data.len() as u64,
        account_requests: account.len() as u64,
        minimum_requests: tally.minimum_data_requests(today, true) + account_paths.len() as u64,
        raw_gzip_bytes: wire.gzip_bytes,
        raw_bytes: wire.bytes,
        tally,
        verified_points,
        redis_bytes,
        database_member_bytes,
        database_bytes,
    };
    stack.stop().await;
    Ok(run)
}

/// Runs `oh-fitbit bench-importer` with the stack's worker environment and reads its report.
async fn run_worker_process(
    stack: &LocalStack,
    staging: &std::path::Path,
) -> anyhow::Result<ImporterReport> {
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg("bench-importer")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STAGING_DIR", staging.join("worker"))
        .env("JOB_LEASE_SECONDS", "86400")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (name, value) in stack.worker_environment() {
        command.env(name, value.expose_secret());
    }
    let output = command.spawn()?.wait_with_output().await?;
    if !output.status.success() {
        bail!("the benchmark's worker process failed ({})", output.status);
    }
    let report = String::from_utf8_lossy(&output.stdout);
    let last_line = report.lines().last().unwrap_or_default();
    serde_json::from_str(last_line)
        .with_context(|| format!("reading the worker's report: {last_line:?}"))
}

impl Run {
    fn print(&self, years: u32) {
        let requests = self.data_requests + self.account_requests;
        let cpu = self.importer.usage.cpu.as_secs_f64();
        let points = self.tally.points();
        let intraday: u64 = self.tally.intraday_points.values().sum();
        let minutes_at_quota = requests as f64 / REQUESTS_PER_MINUTE;
        println!();
        println!("History: {years} year(s) — outcome: {}", self.outcome);
        println!(
            "  requests          {requests} ({} data, {} account); catalogue minimum {}; ratio {:.3}",
            self.data_requests,
            self.account_requests,
            self.minimum_requests,
            requests as f64 / self.minimum_requests.max(1) as f64
        );
        println!(
            "  at 300 req/min    {}",
            human_duration(Duration::from_secs_f64(minutes_at_quota * 60.0))
        );
        println!(
            "  worker CPU        {cpu:.1} s, {:.1} s of it in the kernel (wall {:.1} s)",
            self.importer.usage.system.as_secs_f64(),
            self.importer.wall.as_secs_f64()
        );
        println!(
            "  data points       {points} ({intraday} intraday); {:.0} per CPU second",
            points as f64 / cpu.max(0.001)
        );
        println!(
            "  peak memory       {:.1} MB (worker process, VmHWM)",
            self.importer.usage.peak_rss_bytes as f64 / 1e6
        );
        println!(
            "  bytes             uploaded {} gz in {} files; API responses {} raw, {} gz; ratio 1/{:.1}",
            megabytes(self.tally.uploaded_gzip_bytes),
            self.tally.files,
            megabytes(self.raw_bytes),
            megabytes(self.raw_gzip_bytes),
            self.raw_gzip_bytes as f64 / self.tally.uploaded_gzip_bytes.max(1) as f64
        );
        println!(
            "  stores            Redis {} B for the member; PostgreSQL {:.1} KB of the member's rows \
             ({:.1} KB of tables and indexes in all)",
            self.redis_bytes,
            self.database_member_bytes as f64 / 1e3,
            self.database_bytes as f64 / 1e3
        );
        if let Some(points) = self.verified_points {
            println!(
                "  verified          {points} intraday points equal the ground truth (every settled day)"
            );
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn human_duration(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}
