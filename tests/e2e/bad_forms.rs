//! Every form of the member's pages refuses what it does not send itself (a missing CSRF
//! token, unknown fields, malformed values, an oversized body) with a clear 4xx page, and
//! nothing stored changes. The OAuth routes are rate limited per address.

use reqwest::{Client, StatusCode};

use crate::helpers::{
    OAUTH_REQUESTS_PER_MINUTE, TestStack, browser, csrf_of, get_page, link_both_accounts, start,
    store_snapshot,
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

#[tokio::test]
async fn sync_now_is_limited_to_one_request_in_fifteen_minutes() {
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
    let first = member
        .post(stack.url("sync"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(first.url().path(), "/dashboard");
    let dashboard = first.text().await.unwrap();
    assert!(dashboard.contains("you can ask again from"), "{dashboard}");
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
    stack.stack.stop().await;
}

#[tokio::test]
async fn the_oauth_routes_are_rate_limited_per_address() {
    let stack = start(false).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Twice the limit and more: whichever minute they fall in, one window overflows.
    let mut statuses = Vec::new();
    for _ in 0..=2 * OAUTH_REQUESTS_PER_MINUTE {
        let response = client
            .get(stack.url("openhumans/login"))
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
    // Another address is not limited by this one's requests.
    let elsewhere = client
        .get(stack.url("openhumans/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_ne!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
    stack.stack.stop().await;
}
