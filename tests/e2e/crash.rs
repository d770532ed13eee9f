//! Crash safety: the worker process (`oh-fitbit worker`, as Heroku runs it) is killed with
//! SIGKILL at random moments of a full ten-year import, twenty times, then left to finish. The
//! member's files must equal those of an import that was never interrupted, with no duplicate
//! left on Open Humans, and the member must end up neither lost nor stuck.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use oh_fitbit_core::{members::ImportPreferences, queue::JobStatus};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::process::Child;

use crate::helpers::{
    MEMBER, TestStack, connected_with, file_checksums, job_status, linked_with, spawn_process,
};

const KILLS: usize = 20;
/// A worker lives this long at most before it is killed, so kills land all through the import.
const LONGEST_LIFE: Duration = Duration::from_millis(2500);
const PATIENCE: Duration = Duration::from_secs(300);

/// A small deterministic generator, seeded from the clock and printed so a failure can be
/// replayed by fixing the seed.
struct Moments(u64);

impl Moments {
    fn next_delay(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        LONGEST_LIFE.mul_f64((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
}

fn spawn_worker(stack: &TestStack, staging: &Path) -> Child {
    spawn_process(stack, staging, &["worker"])
}

/// Polls the member's job until `done` holds.
async fn wait_for_job(
    stack: &TestStack,
    what: &str,
    done: impl Fn(&JobStatus) -> bool,
) -> JobStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = job_status(stack).await;
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a killed worker's lease would do after its lifetime: expire, so the next worker reaps
/// it at start instead of the test waiting the lease out.
async fn expire_leases(stack: &TestStack) {
    let client = redis::Client::open(stack.redis.url.expose_secret()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let leases = format!("{}queue:leases", stack.redis.key_prefix);
    let _: i64 = redis::cmd("ZADD")
        .arg(&leases)
        .arg("XX")
        .arg(0)
        .arg(MEMBER)
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test]
async fn twenty_kills_during_a_full_import_leave_the_files_of_an_uninterrupted_one() {
    let preferences = ImportPreferences::default;
    let uninterrupted = connected_with(json!({}), preferences()).await;
    let expected = file_checksums(&uninterrupted, MEMBER);
    assert!(
        expected.contains_key("fitbit-daily.json.gz"),
        "{expected:?}"
    );
    let now = uninterrupted.google.instruments().clock.now();

    let stack = linked_with(json!({}), preferences()).await;
    stack.google.instruments().clock.set(now);
    let staging = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill moments seed: {seed}");
    let mut moments = Moments(seed);
    let mut previous_start = None;
    for kill in 1..=KILLS {
        let mut worker = spawn_worker(&stack, staging.path());
        // The killed run still reads as running until the new worker reaps it: wait for a run
        // this worker started.
        let status = wait_for_job(&stack, "the worker takes the job", |status| {
            let started =
                status.state.as_deref() == Some("running") && status.started_at != previous_start;
            started || status.last_outcome.as_deref() == Some("ok")
        })
        .await;
        previous_start = status.started_at;
        assert_ne!(
            status.last_outcome.as_deref(),
            Some("ok"),
            "the import finished before kill {kill}: make it longer"
        );
        tokio::time::sleep(moments.next_delay()).await;
        worker.start_kill().unwrap();
        worker.wait().await.unwrap();
        expire_leases(&stack).await;
    }

    let mut worker = spawn_worker(&stack, staging.path());
    let status = wait_for_job(&stack, "the import finishes", |status| {
        status.last_outcome.as_deref() == Some("ok")
    })
    .await;
    worker.start_kill().unwrap();
    worker.wait().await.unwrap();
    assert_eq!(status.state.as_deref(), Some("scheduled"), "{status:?}");
    assert_eq!(status.attempts, 0, "{status:?}");
    assert_eq!(file_checksums(&stack, MEMBER), expected);
    // An upload killed before its completion stays invisible to every listing, and Open Humans
    // purges it after six hours (reference: openhumans-api.md §5.1).
    let incomplete = stack
        .open_humans
        .files(MEMBER)
        .iter()
        .filter(|file| !file.completed)
        .count();
    println!("uploads killed before completion: {incomplete}");
    uninterrupted.stack.stop().await;
    stack.stack.stop().await;
}
