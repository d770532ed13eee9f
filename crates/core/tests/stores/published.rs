//! The record of the files published on a member's Open Humans account, with the records each
//! holds per data type and period.

use std::collections::BTreeMap;

use jiff::civil::date;
use oh_fitbit_core::members::{PublishedFile, RecordCounts};

use crate::{
    Stores,
    fixtures::{LEASE, at, id},
};

fn file(name: &str, open_humans_file_id: u64, counts: &[(&str, i16, u32)]) -> PublishedFile {
    let counts: RecordCounts = counts
        .iter()
        .map(|&(data_type, year, records)| ((data_type.to_owned(), date(year, 1, 1)), records))
        .collect();
    PublishedFile {
        name: name.to_owned(),
        open_humans_file_id,
        md5: format!("{open_humans_file_id:032x}"),
        size_bytes: 4096 + open_humans_file_id,
        first_date: Some(date(2016, 3, 1)),
        last_date: Some(date(2026, 11, 20)),
        published_at: at(1_800_000_000 + open_humans_file_id as i64),
        counts,
    }
}

#[tokio::test]
async fn published_files_round_trip_and_a_new_version_replaces_the_counts() {
    let stores = Stores::start().await;
    let members = &stores.members;
    let member = id("12345678");
    stores.sign_in(&member, "oh").await;
    let lease = stores.lease(&member, LEASE).await;
    let fence = lease.fence();
    let daily = file(
        "fitbit-daily.json.gz",
        1,
        &[
            ("steps", 2016, 306),
            ("steps", 2017, 365),
            ("sleep", 2016, 290),
        ],
    );
    let intraday = file(
        "fitbit-intraday-2016-03.json.gz",
        2,
        &[("heart-rate", 2016, 8928)],
    );
    members.record_published(fence, &daily).await.unwrap();
    members.record_published(fence, &intraday).await.unwrap();
    let by_name = |files: &[&PublishedFile]| -> BTreeMap<String, PublishedFile> {
        files
            .iter()
            .map(|f| (f.name.clone(), (*f).clone()))
            .collect()
    };
    assert_eq!(
        members.published_files(&member).await.unwrap(),
        by_name(&[&daily, &intraday])
    );

    // A new version of the daily file: another Open Humans file, other counts, one type gone.
    let daily_again = file(
        "fitbit-daily.json.gz",
        3,
        &[("steps", 2017, 365), ("steps", 2018, 12)],
    );
    members.record_published(fence, &daily_again).await.unwrap();
    assert_eq!(
        members.published_files(&member).await.unwrap(),
        by_name(&[&daily_again, &intraday])
    );
    let counted = stores
        .database
        .texts("SELECT data_type || ' ' || period_start FROM published_counts ORDER BY 1")
        .await;
    assert_eq!(
        counted,
        [
            "heart-rate 2016-01-01",
            "steps 2017-01-01",
            "steps 2018-01-01"
        ],
        "no count of the old version is left"
    );

    members
        .forget_published(fence, &intraday.name)
        .await
        .unwrap();
    assert_eq!(
        members.published_files(&member).await.unwrap(),
        by_name(&[&daily_again])
    );
    assert!(
        members
            .published_files(&id("87654321"))
            .await
            .unwrap()
            .is_empty(),
        "another member's files are their own"
    );
}
