//! Rotating the token key with `oh-fitbit keys status` and `keys reseal`, run as an operator
//! runs them (processes configured from the environment), on a member the stack imported.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{TestStack, connected_with, job_status, member_id, recent};

/// What `oh-fitbit keys <command>` did.
struct Ran {
    succeeded: bool,
    stdout: String,
    stderr: String,
}

/// The stack's value of `name` in a worker's environment.
fn worker_variable(stack: &TestStack, name: &str) -> String {
    stack
        .worker_environment()
        .iter()
        .find(|(variable, _)| *variable == name)
        .map(|(_, value)| value.expose_secret().to_owned())
        .unwrap_or_else(|| panic!("{name} is in the worker's environment"))
}

/// `oh-fitbit keys <command>` with nothing in its environment but what it needs: the
/// database, the token keys and staging.
async fn keys(stack: &TestStack, key: &str, old_keys: &str, command: &str) -> Ran {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_oh-fitbit"))
        .args(["keys", command])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", worker_variable(stack, "DATABASE_URL"))
        .env("TOKEN_ENCRYPTION_KEY", key)
        .env("TOKEN_ENCRYPTION_OLD_KEYS", old_keys)
        .env("STAGING_DIR", stack.staging_dir())
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("our binary runs");
    Ran {
        succeeded: output.status.success(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The counts `keys status` printed for `kind`, or what `keys reseal` printed about it.
fn line<'a>(output: &'a str, kind: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(kind))
        .unwrap_or_else(|| panic!("no line for {kind}: {output}"))
}

fn counts(output: &str, kind: &str) -> Vec<u64> {
    line(output, kind)
        .split_whitespace()
        .map(|count| count.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn after_keys_reseal_the_old_key_can_go_and_the_worker_syncs_on() {
    let stack = connected_with(json!({}), recent(3)).await;
    let old = worker_variable(&stack, "TOKEN_ENCRYPTION_KEY");
    let new = oh_fitbit_core::random_token() + &oh_fitbit_core::random_token();

    let before = keys(&stack, &old, "", "status").await;
    assert!(before.succeeded, "{}", before.stderr);
    for kind in ["Open Humans tokens", "Google tokens", "dashboard summaries"] {
        assert_eq!(counts(&before.stdout, kind), [1, 0], "{}", before.stdout);
    }
    let staged = counts(&before.stdout, "staged chunks")[0];
    assert!(staged > 1, "the import staged chunks: {}", before.stdout);
    assert!(before.stdout.contains("Nothing is sealed with an old key"));

    let rotated = keys(&stack, &new, &old, "status").await;
    assert!(rotated.succeeded, "{}", rotated.stderr);
    assert_eq!(counts(&rotated.stdout, "Google tokens"), [0, 1, 0]);
    assert_eq!(counts(&rotated.stdout, "staged chunks"), [0, staged, 0]);
    assert!(rotated.stdout.contains("run `oh-fitbit keys reseal`"));
    assert!(
        !rotated.stdout.contains(&old) && !rotated.stdout.contains(&new),
        "no key is printed"
    );

    // The old key left out too early: nothing opens, nothing is changed, and it fails.
    let too_early = keys(&stack, &new, "", "reseal").await;
    assert!(!too_early.succeeded, "{}", too_early.stdout);
    assert!(
        too_early.stdout.contains("no configured key opens it"),
        "{}",
        too_early.stdout
    );
    assert!(too_early.stderr.contains("skipped"), "{}", too_early.stderr);

    let resealed = keys(&stack, &new, &old, "reseal").await;
    assert!(resealed.succeeded, "{}{}", resealed.stdout, resealed.stderr);
    assert!(
        line(&resealed.stdout, "Google tokens").contains("1 re-sealed"),
        "{}",
        resealed.stdout
    );
    assert!(
        line(&resealed.stdout, "staged chunks").contains(&format!("{staged} re-sealed")),
        "{}",
        resealed.stdout
    );

    let after = keys(&stack, &new, "", "status").await;
    assert!(after.succeeded, "{}", after.stderr);
    assert_eq!(counts(&after.stdout, "Open Humans tokens"), [1, 0]);
    assert_eq!(counts(&after.stdout, "staged chunks"), [staged, 0]);
    assert!(after.stdout.contains("Nothing is sealed with an old key"));

    // A worker that knows only the new key syncs the member as before.
    let finished_before = job_status(&stack).await.finished_at;
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_oh-fitbit"));
    worker
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STAGING_DIR", stack.staging_dir())
        .env("RUST_LOG", "error")
        .kill_on_drop(true);
    for (name, value) in stack.worker_environment() {
        worker.env(name, value.expose_secret());
    }
    let _worker = worker
        .env("TOKEN_ENCRYPTION_KEY", &new)
        .spawn()
        .expect("our binary starts");
    stack
        .worker
        .context()
        .queue
        .enqueue(&member_id(), Timestamp::now())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let status = job_status(&stack).await;
        if status.finished_at != finished_before {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the sync did not end: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.last_outcome.as_deref(), Some("ok"), "{status:?}");
}
