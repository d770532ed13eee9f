//! Every form of the member's pages refuses what it does not send itself (a missing CSRF
//! token, unknown fields, malformed values, an oversized body) with a clear 4xx page, and
//! nothing stored changes. The OAuth routes are rate limited per address.

use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::config::WebLimits;
use reqwest::{Client, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::helpers::{
    OAUTH_REQUESTS_PER_MINUTE, TestStack, browser, csrf_of, get_page, job_status,
    link_both_accounts, member_id, recent, redis_keys, run_one_job, start, store_snapshot,
};

/// A form, the status it gets, and what its page says.
type RefusedForm<'a> = (&'a [(&'a str, &'a str)], StatusCode, &'a str);

/// Posts `form` to `path` and checks the answer has `status` and says `expected`, with Redis
/// untouched.
async fn refused(
    stack: &TestStack,
    member: &Client,
    path: &str,
    form: &[(&str, &str)],
    status: StatusCode,
    expected: &str,
) {
    let before = store_snapshot(stack).await;
    let response = member
        .post(stack.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "{path} {form:?}");
    let page = response.text().await.unwrap();
    assert!(page.contains(expected), "{path} {form:?}: {page}");
    assert_eq!(
        store_snapshot(stack).await,
        before,
        "{path} {form:?} changed Redis"
    );
}

async fn signed_in_member(stack: &TestStack) -> (Client, String) {
    let member = browser();
    link_both_accounts(stack, &member).await;
    let (_, _, page) = get_page(&member, stack.url("settings")).await;
    let csrf = csrf_of(&page);
    (member, csrf)
}

#[tokio::test]
async fn the_own_client_form_refuses_malformed_or_unknown_clients() {
    let stack = start(false).await;
    let (member, csrf) = signed_in_member(&stack).await;
    let known_id = "123456789012-ohfitbitsim.apps.googleusercontent.com";
    let secret = "GOCSPX-ohfitbit-simulator-secret";
    let cases: [RefusedForm; 7] = [
        (
            &[
                ("client_id", known_id),
                ("client_secret", secret),
                ("resolution", "1min"),
            ],
            StatusCode::FORBIDDEN,
            "Nothing was changed",
        ),
        (
            &[
                ("csrf", &csrf),
                ("client_id", "my client"),
                ("client_secret", secret),
                ("resolution", "1min"),
            ],
            StatusCode::BAD_REQUEST,
            "not a Google OAuth client ID",
        ),
        (
            &[
                ("csrf", &csrf),
                ("client_id", known_id),
                ("client_secret", "secret with spaces in it!"),
                ("resolution", "1min"),
            ],
            StatusCode::BAD_REQUEST,
            "not a Google OAuth client secret",
        ),
        (
            &[
                ("csrf", &csrf),
                (
                    "client_id",
                    "999999999999-nosuchclient.apps.googleusercontent.com",
                ),
                ("client_secret", secret),
                ("resolution", "1min"),
            ],
            StatusCode::BAD_REQUEST,
            "does not know this client ID",
        ),
        (
            &[
                ("csrf", &csrf),
                ("client_id", known_id),
                ("client_secret", "GOCSPX-the-wrong-secret-for-it"),
                ("resolution", "1min"),
            ],
            StatusCode::BAD_REQUEST,
            "not with this secret",
        ),
        (
            &[
                ("csrf", &csrf),
                ("client_id", known_id),
                ("client_secret", secret),
                ("resolution", "2min"),
            ],
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
        (
            &[
                ("csrf", &csrf),
                ("client_id", known_id),
                ("client_secret", secret),
                ("resolution", "off"),
            ],
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
    ];
    for (form, status, expected) in cases {
        refused(&stack, &member, "intraday", form, status, expected).await;
    }
    stack.stack.stop().await;
}

#[tokio::test]
async fn the_settings_form_refuses_what_it_does_not_send() {
    let stack = start(false).await;
    let (member, csrf) = signed_in_member(&stack).await;
    let cases: [RefusedForm; 6] = [
        (
            &[("intraday", "off")],
            StatusCode::FORBIDDEN,
            "Nothing was changed",
        ),
        (
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("intraday", "off"),
            ],
            StatusCode::FORBIDDEN,
            "Nothing was changed",
        ),
        (
            &[("csrf", &csrf), ("intraday", "hourly")],
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
        (
            &[
                ("csrf", &csrf),
                ("intraday", "off"),
                ("category", "location"),
            ],
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
        (
            &[("csrf", &csrf), ("intraday", "off"), ("admin", "yes")],
            StatusCode::BAD_REQUEST,
            "could not be read",
        ),
        (
            &[
                ("csrf", &csrf),
                ("intraday", "off"),
                ("earliest_date", "2019-02-30"),
            ],
            StatusCode::BAD_REQUEST,
            "must be a date like",
        ),
    ];
    for (form, status, expected) in cases {
        refused(&stack, &member, "settings", form, status, expected).await;
    }
    let padding = "x".repeat(20 * 1024);
    let before = store_snapshot(&stack).await;
    let oversized = member
        .post(stack.url("settings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("intraday", "off"),
            ("pad", &padding),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(store_snapshot(&stack).await, before);
    stack.stack.stop().await;
}

/// Row 4 of issue 17: the actions that start a sync (Sync now, saving the settings, a new
/// consent) share one allowance per member, so together they read from Google at most once in
/// fifteen minutes; saving meanwhile schedules the sync for when the allowance frees up.
#[tokio::test]
async fn actions_that_spend_google_quota_share_one_limit_per_member() {
    let stack = start(false).await;
    let (member, csrf) = signed_in_member(&stack).await;
    refused(
        &stack,
        &member,
        "sync",
        &[],
        StatusCode::FORBIDDEN,
        "Nothing was changed",
    )
    .await;
    // Connecting queued the first sync now without spending the allowance; Sync now does.
    assert_eq!(job_status(&stack).await.state.as_deref(), Some("ready"));
    let first = member
        .post(stack.url("sync"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(first.url().path(), "/dashboard");
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains("you can ask again from")
    );
    let again = member
        .post(stack.url("sync"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("can be asked for from")
    );
    stack
        .members
        .save_preferences(&member_id(), &recent(2))
        .await
        .unwrap();
    run_one_job(&stack, &CancellationToken::new()).await;
    let before = job_status(&stack).await.run_at.unwrap();
    for _ in 0..3 {
        let saved = member
            .post(stack.url("settings"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("intraday", "off"),
                ("earliest_date", ""),
            ])
            .send()
            .await
            .unwrap();
        assert!(saved.status().is_success(), "{}", saved.status());
    }
    let after = job_status(&stack).await;
    assert_eq!(
        after.state.as_deref(),
        Some("scheduled"),
        "saving did not start a sync now"
    );
    let run_at = after.run_at.unwrap();
    assert!(
        run_at > Timestamp::now() + SignedDuration::from_mins(10) && run_at < before,
        "the next sync waits for the allowance ({run_at}), not for the daily one ({before})"
    );
    let dashboard = get_page(&member, stack.url("dashboard")).await.2;
    assert!(dashboard.contains("you can ask again from"), "{dashboard}");
    stack.stack.stop().await;
}

/// Row 3 of issue 17: behind one trusted proxy only the address it appended counts, whatever
/// the client writes before it, and the counters stay few and small.
#[tokio::test]
async fn the_oauth_routes_are_limited_per_address_the_trusted_proxy_saw() {
    let stack = TestStack::setup()
        .web_limits(WebLimits {
            trusted_proxy_hops: 1,
            ..WebLimits::default()
        })
        .start()
        .await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Twice the limit and more: whichever minute they fall in, one window overflows.
    let mut statuses = Vec::new();
    for attempt in 0..=2 * OAUTH_REQUESTS_PER_MINUTE {
        let claimed = format!("10.{}.0.1, {}", attempt % 250, "x".repeat(3000));
        let response = client
            .get(stack.url("openhumans/login"))
            .header("x-forwarded-for", format!("{claimed}, 198.51.100.1"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    let limited = statuses
        .iter()
        .filter(|status| **status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER
            || *s == StatusCode::TOO_MANY_REQUESTS
            || *s == StatusCode::FOUND),
        "{statuses:?}"
    );
    let counters: Vec<String> = redis_keys(&stack)
        .await
        .into_iter()
        .filter(|key| key.contains(":ratelimit:"))
        .collect();
    assert!(counters.len() <= 2, "one counter a minute: {counters:?}");
    assert!(counters.iter().all(|key| key.len() < 80), "{counters:?}");
    // Another address the proxy saw is not limited by this one's requests.
    let elsewhere = client
        .get(stack.url("openhumans/login"))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_ne!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
    stack.stack.stop().await;
}

/// Without a trusted proxy, `X-Forwarded-For` is the client's own writing: the peer counts.
#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let stack = start(false).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for attempt in 0..=2 * OAUTH_REQUESTS_PER_MINUTE {
        let response = client
            .get(stack.url("openhumans/login"))
            .header("x-forwarded-for", format!("203.0.113.{}", attempt % 250))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "a new header value per request does not escape the limit: {statuses:?}"
    );
    stack.stack.stop().await;
}

/// Row 9 of issue 17: a client that opens connections and never finishes its headers, or
/// keeps one alive after its answer and sends nothing more, holds each only until the
/// header-read timeout, and the server goes on answering others.
#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stack = start(false).await;
    let address = stack.url("").socket_addrs(|| None).unwrap()[0];
    let mut held = Vec::new();
    for attempt in 0..100 {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request: &[u8] = if attempt % 10 == 0 {
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        } else {
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        };
        stream.write_all(request).await.unwrap();
        held.push(stream);
    }
    let (status, _, _) = get_page(&browser(), stack.url("healthz")).await;
    assert_eq!(status, StatusCode::OK, "others are still served");
    for mut stream in held {
        let mut buffer = [0; 512];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while stream.read(&mut buffer).await.is_ok_and(|read| read > 0) {}
        })
        .await;
        assert!(
            closed.is_ok(),
            "a half-open or idle connection was still held after 30 s"
        );
    }
    stack.stack.stop().await;
}
