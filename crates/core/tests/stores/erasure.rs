//! Erasure requests: kept until a worker has done them, never weakened by a later, weaker
//! request, and (for a member who left) holding a sealed copy of the Open Humans tokens the
//! deletion of their files needs.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::date;
use oh_fitbit_core::{
    members::{Cursor, Erasure, MemberStore, PublishedFile, SyncRecord},
    tier::{CursorKey, Tier},
};
use open_humans::ProjectMemberId;

use crate::{
    Stores,
    fixtures::{LEASE, PlainTokens, at, id, oh_tokens},
};

/// The request as `erasure_requested` reads it: what is to be erased, and the departed
/// member's tokens in the clear.
async fn requested(
    members: &MemberStore,
    member: &ProjectMemberId,
) -> Option<(Erasure, Option<PlainTokens>)> {
    members
        .erasure_requested(member)
        .await
        .unwrap()
        .map(|request| {
            (
                request.erasure,
                request.departed_tokens.as_ref().map(Into::into),
            )
        })
}

#[tokio::test]
async fn a_departed_members_stronger_request_is_kept_with_their_tokens_until_done() {
    let stores = Stores::start().await;
    let members = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "oh-departing-SECRET").await;
    members
        .request_erasure(&member, Erasure::AlsoOpenHumansFiles)
        .await
        .unwrap();
    assert_eq!(
        requested(members, &member).await,
        Some((Erasure::AlsoOpenHumansFiles, None)),
        "a member who stays needs no copy of their tokens"
    );
    members.forget(&member).await.unwrap();
    assert!(members.load(&member).await.unwrap().is_none());
    let departed = Some((
        Erasure::AlsoOpenHumansFiles,
        Some((&oh_tokens("oh-departing-SECRET")).into()),
    ));
    assert_eq!(requested(members, &member).await, departed);
    let dump = stores.database.dump("erasure_requests").await;
    assert!(dump.contains("v1.") && !dump.contains("SECRET"), "{dump}");

    members
        .request_erasure(&member, Erasure::Staging)
        .await
        .unwrap();
    members.forget(&member).await.unwrap();
    assert_eq!(
        requested(members, &member).await,
        departed,
        "neither a weaker request nor a second departure weakens it"
    );
    assert_eq!(
        members.erasures_pending().await.unwrap(),
        std::slice::from_ref(&member)
    );

    let lease = stores.lease(&member, LEASE).await;
    members
        .finish_erasure(lease.fence(), Erasure::Staging)
        .await
        .unwrap();
    assert_eq!(
        requested(members, &member).await,
        departed,
        "erasing staging alone leaves the files on Open Humans to do"
    );
    members
        .finish_erasure(lease.fence(), Erasure::AlsoOpenHumansFiles)
        .await
        .unwrap();
    assert_eq!(requested(members, &member).await, None);
    assert!(members.erasures_pending().await.unwrap().is_empty());
    assert_eq!(stores.database.dump("erasure_requests").await, "");
}

#[tokio::test]
async fn a_departure_asks_for_staging_to_be_erased_and_keeps_no_tokens_for_it() {
    let stores = Stores::start().await;
    let members = &stores.members;
    let (left, asked_then_left) = (id("11111111"), id("22222222"));
    for member in [&left, &asked_then_left] {
        stores.sign_in(member, "oh-SECRET").await;
    }
    members
        .request_erasure(&asked_then_left, Erasure::Staging)
        .await
        .unwrap();
    for member in [&left, &asked_then_left] {
        members.forget(member).await.unwrap();
        assert_eq!(
            requested(members, member).await,
            Some((Erasure::Staging, None))
        );
    }
    let mut pending = members.erasures_pending().await.unwrap();
    pending.sort();
    assert_eq!(pending, [left, asked_then_left]);
    let dump = stores.database.dump("erasure_requests").await;
    assert!(!dump.contains("v1."), "no tokens are kept: {dump}");
}

#[tokio::test]
async fn a_request_made_stronger_is_not_cleared_by_the_weaker_erasure() {
    let stores = Stores::start().await;
    let members = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "oh").await;
    members
        .request_erasure(&member, Erasure::Staging)
        .await
        .unwrap();
    let lease = stores.lease(&member, LEASE).await;
    // The member asks for their files too while the worker erases staging.
    members
        .request_erasure(&member, Erasure::AlsoOpenHumansFiles)
        .await
        .unwrap();
    members
        .finish_erasure(lease.fence(), Erasure::Staging)
        .await
        .unwrap();
    assert_eq!(
        requested(members, &member).await,
        Some((Erasure::AlsoOpenHumansFiles, None))
    );
}

#[tokio::test]
async fn finishing_an_erasure_starts_the_import_again_from_nothing() {
    let stores = Stores::start().await;
    let members = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "oh").await;
    let lease = stores.lease(&member, LEASE).await;
    let fence = lease.fence();
    let key = CursorKey::new(Tier::Standard, "steps");
    let cursor = Cursor {
        newest: Some(date(2026, 11, 20)),
        oldest: Some(date(2016, 3, 1)),
        complete: true,
        resolution: None,
    };
    let file = PublishedFile {
        name: "fitbit-daily.json.gz".into(),
        open_humans_file_id: 7,
        md5: "0".repeat(32),
        size_bytes: 10,
        first_date: None,
        last_date: None,
        published_at: at(1_800_000_000),
        counts: BTreeMap::new(),
    };
    let record = SyncRecord {
        last_success_at: Some(at(1_800_000_000)),
        requests: 3,
        ..SyncRecord::default()
    };
    let write = || async {
        members
            .save_restored(fence, &BTreeMap::new(), &BTreeSet::new(), "generation")
            .await
            .unwrap();
        members.save_cursor(fence, &key, &cursor).await.unwrap();
        members.save_sync(fence, &record).await.unwrap();
        members.record_published(fence, &file).await.unwrap();
    };

    write().await;
    members
        .request_erasure(&member, Erasure::Staging)
        .await
        .unwrap();
    members
        .finish_erasure(fence, Erasure::Staging)
        .await
        .unwrap();
    assert_eq!(requested(members, &member).await, None, "done");
    let erased = members.load(&member).await.unwrap().unwrap();
    assert!(erased.cursors.is_empty());
    assert_eq!(erased.sync, SyncRecord::default());
    assert_eq!(erased.staging_generation, None);
    assert_eq!(
        members.published_files(&member).await.unwrap().len(),
        1,
        "the files on Open Humans stay, and our record of them"
    );

    write().await;
    members
        .finish_erasure(fence, Erasure::AlsoOpenHumansFiles)
        .await
        .unwrap();
    assert!(members.published_files(&member).await.unwrap().is_empty());
    assert!(
        members
            .load(&member)
            .await
            .unwrap()
            .unwrap()
            .cursors
            .is_empty()
    );
}
