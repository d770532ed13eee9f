//! The operator commands (`oh-fitbit members`, `member`, `enqueue`, `requeue-dead`,
//! `refresh-tokens`, `queue-stats`) against members of the local stack.

use jiff::Timestamp;
use oh_fitbit::operator::{self, Command};
use oh_fitbit_core::{
    queue::{Completed, Outcome},
    staging::Staging,
};
use oh_fitbit_worker::WorkerContext;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{
    MEMBER, admin, browser, connected_with, link_both_accounts, recent, start, token_requests,
};

async fn run(ctx: &WorkerContext, command: Command) -> anyhow::Result<String> {
    let mut out = Vec::new();
    operator::execute(ctx, command, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

async fn refresh_tokens(ctx: &WorkerContext, all: bool, deauth: bool) -> anyhow::Result<String> {
    run(ctx, Command::RefreshTokens { all, deauth }).await
}

fn member_id() -> open_humans::ProjectMemberId {
    MEMBER.parse().unwrap()
}

#[tokio::test]
async fn operators_see_members_and_their_jobs_without_any_secret() {
    let stack = connected_with(json!({}), recent(3)).await;
    let ctx = stack.worker.context();
    let listed = run(ctx, Command::Members).await.unwrap();
    let row = listed
        .lines()
        .find(|line| line.starts_with(MEMBER))
        .unwrap();
    assert!(
        row.contains("linked") && row.contains("scheduled") && row.contains("ok"),
        "{listed}"
    );
    assert!(listed.ends_with("1 member(s)\n"), "{listed}");

    let shown = run(ctx, Command::Member { id: MEMBER.into() })
        .await
        .unwrap();
    assert!(shown.contains("fitbit          linked"), "{shown}");
    assert!(shown.contains("job             scheduled"), "{shown}");
    let steps = shown
        .lines()
        .find(|line| line.contains("standard:steps"))
        .unwrap();
    assert!(steps.contains(".."), "{shown}");
    let member = ctx.members.load(&member_id()).await.unwrap().unwrap();
    let google = member.google_tokens.unwrap();
    for secret in [
        member.open_humans.access_token.expose_secret(),
        member.open_humans.refresh_token.expose_secret(),
        google.access_token.expose_secret(),
        google.refresh_token.expose_secret(),
    ] {
        assert!(!shown.contains(secret) && !listed.contains(secret));
    }
    let error = run(
        ctx,
        Command::Member {
            id: "87654321".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("no member 87654321"), "{error}");
    let error = run(
        ctx,
        Command::Member {
            id: "x/../y".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not an Open Humans project member id"),
        "{error}"
    );

    let stats = run(ctx, Command::QueueStats).await.unwrap();
    assert!(stats.contains("ready           0"), "{stats}");
    assert!(stats.contains("scheduled       1 (0 due now)"), "{stats}");
    let queued = run(
        ctx,
        Command::Enqueue {
            ids: vec![],
            all: true,
        },
    )
    .await
    .unwrap();
    assert!(queued.contains(&format!("{MEMBER}  Queued")), "{queued}");
    let stats = run(ctx, Command::QueueStats).await.unwrap();
    assert!(stats.contains("ready           1"), "{stats}");
    assert!(stats.contains("scheduled       0"), "{stats}");
    stack.stack.stop().await;
}

#[tokio::test]
async fn requeue_dead_brings_dead_members_back_with_their_attempts_reset() {
    let stack = start(false).await;
    link_both_accounts(&stack, &browser()).await;
    let ctx = stack.worker.context();
    let lease = ctx
        .queue
        .fetch(std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let failed = Outcome::Retry {
        run_at: Timestamp::now(),
        error: "a failure".into(),
    };
    assert_eq!(
        ctx.queue.complete(&lease, failed, 1).await.unwrap(),
        Completed::Dead
    );
    let stats = run(ctx, Command::QueueStats).await.unwrap();
    assert!(stats.contains("dead            1"), "{stats}");

    let requeued = run(ctx, Command::RequeueDead).await.unwrap();
    assert!(
        requeued.contains(&format!("{MEMBER}  Queued")),
        "{requeued}"
    );
    let status = ctx.queue.status(&member_id()).await.unwrap();
    assert_eq!(
        (status.state.as_deref(), status.attempts),
        (Some("ready"), 0)
    );
    let stats = run(ctx, Command::QueueStats).await.unwrap();
    assert!(
        stats.contains("dead            0") && stats.contains("ready           1"),
        "{stats}"
    );
    stack.stack.stop().await;
}

#[tokio::test]
async fn refresh_tokens_refreshes_what_is_due_and_deauth_drops_refused_grants() {
    let stack = connected_with(json!({}), recent(2)).await;
    let ctx = stack.worker.context();
    let before = token_requests(&stack);
    let report = refresh_tokens(ctx, false, false).await.unwrap();
    assert!(
        report.contains("open humans still valid; google still valid"),
        "{report}"
    );
    assert_eq!(token_requests(&stack), before, "nothing was due");

    let report = refresh_tokens(ctx, true, false).await.unwrap();
    assert!(
        report.contains("open humans refreshed; google refreshed"),
        "{report}"
    );
    assert_eq!(token_requests(&stack), before + 1, "one Google refresh");

    admin(stack.google.base_url(), "__admin/grants/revoke", json!({})).await;
    let refused = refresh_tokens(ctx, true, false).await;
    assert!(refused.unwrap_err().to_string().contains("did not succeed"));
    assert!(
        ctx.members.has_fitbit(&member_id()).await.unwrap(),
        "kept without --deauth"
    );
    let report = refresh_tokens(ctx, true, true).await.unwrap();
    assert!(report.contains("google refused the refresh"), "{report}");
    assert!(report.contains("Fitbit link dropped"), "{report}");
    assert!(!ctx.members.has_fitbit(&member_id()).await.unwrap());

    let Staging::LocalDirectory(root) = &ctx.staging else {
        panic!("the local stack stages in a directory");
    };
    let staged = root.join("members").join(MEMBER);
    assert!(staged.is_dir(), "the import staged data");
    admin(
        stack.open_humans.base_url(),
        &format!("__admin/members/{MEMBER}/leave"),
        json!({}),
    )
    .await;
    let report = refresh_tokens(ctx, true, true).await.unwrap();
    assert!(
        report.contains("open humans refused the refresh: member dropped"),
        "{report}"
    );
    assert!(ctx.members.load(&member_id()).await.unwrap().is_none());
    assert!(ctx.members.member_ids().await.unwrap().is_empty());
    assert!(!staged.exists(), "their staged data is deleted");
    assert_eq!(ctx.queue.status(&member_id()).await.unwrap().state, None);
    stack.stack.stop().await;
}
