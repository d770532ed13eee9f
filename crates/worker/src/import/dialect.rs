//! The variants of Google's behaviour that the reference marks as unknown or inconsistent
//! (§2.4, §2.6), with what this deployment has seen work. Each is tried in the documented form
//! first; a rejection switches to the alternative and is remembered deployment-wide.

use std::collections::HashMap;

use google_health::catalogue::DataType;
use oh_fitbit_core::dialect::DialectStore;

use crate::error::SyncError;

pub struct Dialect {
    store: DialectStore,
    known: HashMap<String, String>,
}

const ROLLUP_END: &str = "daily_rollup_end";
const SLEEP_FILTER: &str = "sleep_filter";

impl Dialect {
    pub async fn load(store: DialectStore) -> Result<Self, SyncError> {
        let known = store.load().await?;
        Ok(Self { store, known })
    }

    /// Whether `dailyRollUp` includes its `range.end` day (a live report) rather than ending
    /// before it (the discovery document).
    pub fn roll_up_end_inclusive(&self) -> bool {
        self.known
            .get(ROLLUP_END)
            .is_some_and(|value| value == "inclusive")
    }

    pub async fn set_roll_up_end_inclusive(&mut self) -> Result<(), SyncError> {
        self.remember(ROLLUP_END.to_owned(), "inclusive").await
    }

    /// The filter prefix a daily type accepts: the documented snake_case, or the camelCase
    /// union key some accounts need (§2.4).
    pub fn daily_prefix(&self, data_type: &DataType) -> String {
        match self.known.get(&prefix_name(data_type)).map(String::as_str) {
            Some("camel") => data_type.union_key.to_owned(),
            _ => data_type.snake_case(),
        }
    }

    pub async fn switch_daily_prefix(&mut self, data_type: &DataType) -> Result<(), SyncError> {
        let next = if self.daily_prefix(data_type) == data_type.snake_case() {
            "camel"
        } else {
            "snake"
        };
        self.remember(prefix_name(data_type), next).await
    }

    /// Whether sleep filters were rejected here, so sleep is read unfiltered.
    pub fn sleep_filter_rejected(&self) -> bool {
        self.known
            .get(SLEEP_FILTER)
            .is_some_and(|value| value == "rejected")
    }

    pub async fn set_sleep_filter_rejected(&mut self) -> Result<(), SyncError> {
        self.remember(SLEEP_FILTER.to_owned(), "rejected").await
    }

    async fn remember(&mut self, name: String, value: &str) -> Result<(), SyncError> {
        tracing::info!(%name, %value, "learned how Google answers");
        self.store.remember(&name, value).await?;
        self.known.insert(name, value.to_owned());
        Ok(())
    }
}

fn prefix_name(data_type: &DataType) -> String {
    format!("daily_filter_prefix:{}", data_type.id)
}
