//! Many members at once. Two hundred members linked through our pages are synced by three
//! worker processes (`oh-fitbit worker`, as Heroku runs them): a first import, then a day later
//! a re-sync whose tokens have all expired while two operators' `refresh-tokens` race the
//! workers and each other for them. The simulators' journals, which attribute each request to its account,
//! show every member synced exactly once per round and exactly one refresh per expired token.
//! Then several members' imports in flight at once under a lowered per-user quota.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use jiff::{SignedDuration, Timestamp};
use oh_fitbit_sim::JournalEntry;
use oh_fitbit_worker::Execution;
use tokio::process::Child;

use crate::helpers::{NumberedMember, TestStack, recent, spawn_process, start_with_members};

const MEMBERS: usize = 200;
const WORKER_PROCESSES: usize = 3;
/// Days of daily data each member imports: a few dozen requests each.
const DAYS: i64 = 3;
const PATIENCE: Duration = Duration::from_secs(600);

fn numbered_members(count: usize) -> Vec<NumberedMember> {
    (1..=count).map(NumberedMember::new).collect()
}

/// Links every member through our pages, each importing the last [`DAYS`] days. Their first
/// syncs are queued; nothing runs them yet.
async fn link_all(stack: &TestStack, members: &[NumberedMember]) {
    for member in members {
        member.link(stack).await;
        stack
            .members
            .save_preferences(&member.id(), &recent(DAYS))
            .await
            .unwrap();
    }
}

/// Waits until every member's job has finished a run that started after `since`, successfully,
/// and is scheduled for its next daily sync.
async fn wait_until_all_synced(stack: &TestStack, members: &[NumberedMember], since: Timestamp) {
    let queue = &stack.worker.context().queue;
    let deadline = Instant::now() + PATIENCE;
    let mut waiting: Vec<&NumberedMember> = members.iter().collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for member in waiting {
            let status = queue.status(&member.id()).await.unwrap();
            let done = status.finished_at.is_some_and(|at| at > since)
                && status.state.as_deref() == Some("scheduled");
            if done {
                assert_eq!(status.last_outcome.as_deref(), Some("ok"), "{status:?}");
                assert_eq!(status.attempts, 0, "{status:?}");
            } else {
                assert!(
                    Instant::now() < deadline,
                    "member {} is not synced: {status:?}",
                    member.id()
                );
                still.push(member);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Stops worker processes as Heroku does, with SIGTERM, and checks they exit cleanly.
async fn stop_gracefully(workers: Vec<Child>) {
    for mut worker in workers {
        let pid = worker.id().expect("the worker is running").to_string();
        let signalled = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(signalled.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), worker.wait())
            .await
            .expect("a worker stops within Heroku's 30 seconds")
            .unwrap();
        assert!(exit.success(), "the worker exits cleanly: {exit}");
    }
}

fn spawn_workers(stack: &TestStack) -> Vec<Child> {
    (0..WORKER_PROCESSES)
        .map(|_| spawn_process(stack, stack.staging_dir(), &["worker"]))
        .collect()
}

async fn run_to_success(stack: &TestStack, args: &[&str]) {
    let status = spawn_process(stack, stack.staging_dir(), args)
        .wait()
        .await
        .unwrap();
    assert!(status.success(), "oh-fitbit {args:?}: {status}");
}

/// A request as the member's sync made it, without the token that authorised it.
fn request(entry: &JournalEntry) -> String {
    format!("{} {}?{}", entry.method, entry.path, entry.query)
}

/// The Health API requests each member's account made after journal entry `after`, sorted;
/// checks that none was made twice (a second sync of the member would repeat them) and that
/// none was refused.
fn health_requests_per_member(
    stack: &TestStack,
    members: &[NumberedMember],
    after: u64,
) -> BTreeMap<String, Vec<String>> {
    let journal = &stack.google.instruments().journal;
    let mut per_member = BTreeMap::new();
    for member in members {
        let entries: Vec<JournalEntry> = journal
            .of(&member.google_account)
            .into_iter()
            .filter(|entry| entry.seq > after && entry.path.starts_with("/v4/"))
            .collect();
        assert!(!entries.is_empty(), "member {} was not synced", member.id());
        let refused: Vec<&JournalEntry> =
            entries.iter().filter(|entry| entry.status >= 400).collect();
        assert!(refused.is_empty(), "member {}: {refused:?}", member.id());
        let mut requests: Vec<String> = entries.iter().map(request).collect();
        requests.sort();
        let distinct: BTreeSet<&String> = requests.iter().collect();
        assert_eq!(
            distinct.len(),
            requests.len(),
            "member {} was synced more than once",
            member.id()
        );
        per_member.insert(member.open_humans.project_member_id.clone(), requests);
    }
    per_member
}

/// Every member made the same requests: they wear the same tracker and import the same days.
fn assert_all_alike(per_member: &BTreeMap<String, Vec<String>>) {
    let (first, expected) = per_member.iter().next().unwrap();
    for (member, requests) in per_member {
        assert_eq!(requests, expected, "members {member} and {first}");
    }
}

/// Each member's completed files on Open Humans: one per name, none left incomplete, the same
/// names for everyone.
fn assert_files_published_once(stack: &TestStack, members: &[NumberedMember]) {
    let mut expected: Option<BTreeSet<String>> = None;
    for member in members {
        let files = stack
            .open_humans
            .files(&member.open_humans.project_member_id);
        assert!(
            files.iter().all(|file| file.completed),
            "member {} has an incomplete upload",
            member.id()
        );
        let names: BTreeSet<String> = files.iter().map(|file| file.basename.clone()).collect();
        assert_eq!(
            names.len(),
            files.len(),
            "member {}: {files:?}",
            member.id()
        );
        match &expected {
            None => expected = Some(names),
            Some(expected) => assert_eq!(&names, expected, "member {}", member.id()),
        }
    }
    assert!(expected.unwrap().contains("fitbit-daily.json.gz"));
}

/// What happens to each member's tokens in an hour that our clock cannot skip: they expire.
/// The simulators' clock is moved instead; this makes our records agree.
async fn expire_stored_tokens(stack: &TestStack, members: &[NumberedMember]) {
    let expired = Timestamp::now() - SignedDuration::from_mins(1);
    for member in members {
        let stored = stack.members.load(&member.id()).await.unwrap().unwrap();
        let mut google = stored.google_tokens.clone().unwrap();
        google.expires_at = expired;
        let account = stored.fitbit.clone().unwrap();
        stack
            .members
            .connect_fitbit(&member.id(), &account, &google, None)
            .await
            .unwrap();
        let mut open_humans = stored.open_humans.clone();
        open_humans.expires_at = expired;
        stack
            .members
            .save_open_humans_link(&member.id(), &open_humans)
            .await
            .unwrap();
    }
}

/// A position in both simulators' journals: (Google, Open Humans) sequence numbers.
type JournalMark = (u64, u64);

fn mark(stack: &TestStack) -> JournalMark {
    let last = |entries: Vec<JournalEntry>| entries.last().map_or(0, |entry| entry.seq);
    (
        last(stack.google.instruments().journal.entries()),
        last(stack.open_humans.instruments().journal.entries()),
    )
}

/// The member's token requests since `since`, as the statuses they were answered with:
/// (Google, Open Humans).
fn token_requests(
    stack: &TestStack,
    member: &NumberedMember,
    since: JournalMark,
) -> (Vec<u16>, Vec<u16>) {
    let statuses = |entries: Vec<JournalEntry>, after: u64, path: &str| -> Vec<u16> {
        entries
            .into_iter()
            .filter(|entry| entry.seq > after && entry.path == path)
            .map(|entry| entry.status)
            .collect()
    };
    let google = stack
        .google
        .instruments()
        .journal
        .of(&member.google_account);
    let open_humans = stack
        .open_humans
        .instruments()
        .journal
        .of(&member.open_humans.project_member_id);
    (
        statuses(google, since.0, "/token"),
        statuses(open_humans, since.1, "/oauth2/token/"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_members_are_each_synced_once_per_round_by_three_worker_processes() {
    let members = numbered_members(MEMBERS);
    let stack = start_with_members(&members).await;
    // The simulators' day stands still, so every member's sync reads the same days.
    stack.google.instruments().clock.freeze(true);
    link_all(&stack, &members).await;
    let linked = mark(&stack);

    let first_round = Timestamp::now();
    let workers = spawn_workers(&stack);
    wait_until_all_synced(&stack, &members, first_round).await;
    stop_gracefully(workers).await;
    let imports = health_requests_per_member(&stack, &members, linked.0);
    assert_all_alike(&imports);
    assert_files_published_once(&stack, &members);
    for member in &members {
        assert_eq!(
            token_requests(&stack, member, linked),
            (vec![], vec![]),
            "member {}: tokens fresh from linking need no refresh",
            member.id()
        );
    }

    // A day later: every access token has expired, for the simulators and for our records.
    stack
        .google
        .instruments()
        .clock
        .advance(SignedDuration::from_hours(24));
    expire_stored_tokens(&stack, &members).await;
    run_to_success(&stack, &["enqueue", "--all"]).await;
    let imported = mark(&stack);
    let second_round = Timestamp::now();
    let workers = spawn_workers(&stack);
    // Two operators' runs at once walk the members in the same order, so they meet at every
    // member, and the workers at some.
    tokio::join!(
        run_to_success(&stack, &["refresh-tokens"]),
        run_to_success(&stack, &["refresh-tokens"]),
    );
    wait_until_all_synced(&stack, &members, second_round).await;
    stop_gracefully(workers).await;

    let resyncs = health_requests_per_member(&stack, &members, imported.0);
    assert_all_alike(&resyncs);
    assert_files_published_once(&stack, &members);
    for member in &members {
        assert_eq!(
            token_requests(&stack, member, imported),
            (vec![200], vec![200]),
            "member {}: one refresh of each expired token",
            member.id()
        );
    }
    stack.stack.stop().await;
}

/// Runs queued jobs with `jobs` of them in flight at once, until none is due.
async fn run_due_jobs(stack: &TestStack, jobs: usize) {
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..jobs {
        let worker = stack.worker.clone();
        loops.spawn(async move {
            let shutdown = tokio_util::sync::CancellationToken::new();
            while let Execution::Ran { .. } = worker.try_execute_one(&shutdown).await.unwrap() {}
        });
    }
    while let Some(finished) = loops.join_next().await {
        finished.unwrap();
    }
}

/// Several members' imports in flight at once under a lowered per-user quota: each member's
/// run stops at its first 429 and waits for the next window without counting a failure, the
/// others carry on with their own quota, and every import finishes. In no window does a
/// member's account send more than the limit plus the one request its sync has in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_in_flight_together_finish_under_a_lowered_quota_without_going_over_it() {
    const LIMIT: usize = 12;
    const JOBS_IN_FLIGHT: usize = 4;
    /// A member's sync sends one request at a time.
    const REQUESTS_IN_FLIGHT_PER_MEMBER: usize = 1;
    const MOST_ROUNDS: usize = 40;
    let members = numbered_members(6);
    let stack = start_with_members(&members).await;
    let clock = &stack.google.instruments().clock;
    clock.freeze(true);
    link_all(&stack, &members).await;
    let linked = mark(&stack);
    crate::helpers::admin(
        stack.google.base_url(),
        "__admin/knobs",
        serde_json::json!({"quota_per_user_per_min": LIMIT}),
    )
    .await;

    let queue = &stack.worker.context().queue;
    let mut rounds = 0;
    loop {
        run_due_jobs(&stack, JOBS_IN_FLIGHT).await;
        rounds += 1;
        let mut waiting = Vec::new();
        for member in &members {
            let status = queue.status(&member.id()).await.unwrap();
            assert_eq!(status.attempts, 0, "a quota wait is no failure: {status:?}");
            match status.last_outcome.as_deref() {
                Some("ok") => {}
                Some("later") => waiting.push(member.id()),
                other => panic!("round {rounds} ended with {other:?}: {status:?}"),
            }
        }
        if waiting.is_empty() {
            break;
        }
        assert!(rounds < MOST_ROUNDS, "the imports finish");
        // The next quota window; the waiting jobs were scheduled for the worker's next minute.
        clock.advance(SignedDuration::from_secs(61));
        for id in &waiting {
            queue.enqueue(id, Timestamp::now()).await.unwrap();
        }
    }
    assert!(
        rounds > 2,
        "the limit was low enough to take several windows"
    );

    // The clock stands still during a round, so a round is one quota window.
    let entries: Vec<JournalEntry> = stack
        .google
        .instruments()
        .journal
        .entries()
        .into_iter()
        .filter(|entry| entry.seq > linked.0 && entry.path.starts_with("/v4/"))
        .collect();
    let mut windows: BTreeMap<(String, Timestamp), (usize, usize)> = BTreeMap::new();
    for entry in &entries {
        let account = entry
            .principal
            .clone()
            .expect("every call names its account");
        let (served, refused) = windows.entry((account, entry.at)).or_default();
        match entry.status {
            429 => *refused += 1,
            _ => *served += 1,
        }
    }
    for ((account, at), (served, refused)) in &windows {
        assert!(
            served + refused <= LIMIT + REQUESTS_IN_FLIGHT_PER_MEMBER,
            "{account} sent {served} + {refused} refused requests in the window of {at}"
        );
    }
    // Several jobs were in flight: the members' requests interleave instead of coming one
    // member's run after another's.
    let runs = windows.len();
    let switches = entries
        .windows(2)
        .filter(|pair| pair[0].principal != pair[1].principal)
        .count();
    assert!(
        switches > 2 * runs,
        "{switches} switches between members in {runs} runs"
    );
    assert_files_published_once(&stack, &members);
    stack.stack.stop().await;
}
