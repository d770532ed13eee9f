//! The variants of Google's behaviour that the reference marks as unknown or inconsistent
//! (§2.4, §2.6) and peers saw differ between accounts: which filter spelling a daily type
//! answers, whether sleep takes a filter, whether a rollup takes `pageSize`.
//!
//! Every request can still try every variant, so what is known here only orders the tries.
//! Knowledge is kept per method and data type, and only an answer that worked counts, never an
//! error. An alternative that worked goes first for the rest of the run that saw it; for the
//! whole deployment only once runs of [`CONFIRMATIONS`] members or syncs saw it, and for a
//! day: after that the documented variant goes first again, so a change on Google's side is
//! noticed.

use std::collections::HashMap;

use google_health::catalogue::DataType;
use jiff::{SignedDuration, Timestamp};
use oh_fitbit_core::dialect::{DialectStore, Evidence};

use crate::error::SyncError;

/// How long a variant seen working keeps its place ahead of the documented one.
const RECHECK_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// Runs that must have seen an alternative work before every run tries it first.
pub(super) const CONFIRMATIONS: u32 = 2;

/// A question about Google's dialect, and the variants it has, documented first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Question {
    name: String,
    documented: &'static [&'static str],
}

pub(super) const SNAKE: &str = "snake";
pub(super) const CAMEL: &str = "camel";
pub(super) const FILTERED: &str = "filtered";
pub(super) const UNFILTERED: &str = "unfiltered";
pub(super) const PAGE_SIZE_SENT: &str = "sent";
pub(super) const PAGE_SIZE_OMITTED: &str = "omitted";

impl Question {
    /// The filter a daily type's `list` answers: the documented snake_case prefix, the
    /// camelCase one some accounts need, or none.
    pub(crate) fn daily_filter(data_type: &DataType) -> Self {
        Self {
            name: format!("list:{}:filter", data_type.id),
            documented: &[SNAKE, CAMEL, UNFILTERED],
        }
    }

    /// Whether a `list` of this (non-daily) type takes a filter: one client saw sleep reject
    /// every member.
    pub(crate) fn list_filter(data_type: &DataType) -> Self {
        Self {
            name: format!("list:{}:filter", data_type.id),
            documented: &[FILTERED, UNFILTERED],
        }
    }

    /// Whether a rollup method (`dailyRollUp`, `rollUp`) of this type takes `pageSize`.
    pub(crate) fn roll_up_page_size(method: &str, data_type: &DataType) -> Self {
        Self {
            name: format!("{method}:{}:page_size", data_type.id),
            documented: &[PAGE_SIZE_SENT, PAGE_SIZE_OMITTED],
        }
    }
}

pub(crate) struct Dialect {
    store: DialectStore,
    knowledge: Knowledge,
}

impl Dialect {
    pub(crate) async fn load(store: DialectStore) -> Result<Self, SyncError> {
        let known = store.load().await?;
        Ok(Self {
            store,
            knowledge: Knowledge {
                known,
                this_run: HashMap::new(),
            },
        })
    }

    /// The variants of `question` in the order to try them, as of `now`.
    pub(crate) fn order(&self, question: &Question, now: Timestamp) -> Vec<&'static str> {
        self.knowledge.order(question, now)
    }

    /// `variant` answered `question` with data; what that teaches is kept.
    pub(crate) async fn worked(
        &mut self,
        question: &Question,
        variant: &'static str,
        now: Timestamp,
    ) -> Result<(), SyncError> {
        if let Some(evidence) = self.knowledge.worked(question, variant, now) {
            self.store.record(&question.name, &evidence).await?;
        }
        Ok(())
    }
}

/// What the deployment and this run have seen, without the store.
struct Knowledge {
    /// What the deployment has seen, by question.
    known: HashMap<String, Evidence>,
    /// Alternatives this run saw work, by question.
    this_run: HashMap<String, &'static str>,
}

impl Knowledge {
    fn order(&self, question: &Question, now: Timestamp) -> Vec<&'static str> {
        let first = self.this_run.get(&question.name).copied().or_else(|| {
            let known = self.confirmed(question, now)?;
            question
                .documented
                .iter()
                .copied()
                .find(|variant| *variant == known.variant)
        });
        first
            .into_iter()
            .chain(
                question
                    .documented
                    .iter()
                    .copied()
                    .filter(|variant| Some(*variant) != first),
            )
            .collect()
    }

    /// Learns from `variant` answering with data; returns the evidence to store, if any. The
    /// documented variant working ends what was known of an alternative; an alternative
    /// working goes first for the rest of this run, and counts once towards the deployment's
    /// [`CONFIRMATIONS`].
    fn worked(
        &mut self,
        question: &Question,
        variant: &'static str,
        now: Timestamp,
    ) -> Option<Evidence> {
        let known = self
            .known
            .get(&question.name)
            .filter(|known| known.variant == variant && is_fresh(known, now));
        let confirmations = if Some(&variant) == question.documented.first() {
            self.this_run.remove(&question.name);
            if known.is_some() {
                return None;
            }
            1
        } else {
            if self.this_run.insert(question.name.clone(), variant) == Some(variant) {
                return None;
            }
            let confirmations = known.map_or(1, |known| known.confirmations.saturating_add(1));
            tracing::info!(question = %question.name, %variant, confirmations, "seen how Google answers");
            confirmations
        };
        let evidence = Evidence {
            variant: variant.to_owned(),
            seen_at: now,
            confirmations,
        };
        self.known.insert(question.name.clone(), evidence.clone());
        Some(evidence)
    }

    /// The deployment's answer to `question`, when enough runs saw it and it is not due for
    /// its re-check.
    fn confirmed(&self, question: &Question, now: Timestamp) -> Option<&Evidence> {
        self.known
            .get(&question.name)
            .filter(|known| known.confirmations >= CONFIRMATIONS && is_fresh(known, now))
    }
}

fn is_fresh(evidence: &Evidence, now: Timestamp) -> bool {
    now.duration_since(evidence.seen_at) < RECHECK_AFTER
}

#[cfg(test)]
mod tests {
    use google_health::catalogue::data_type;

    use super::*;

    fn knowing_nothing() -> Knowledge {
        Knowledge {
            known: HashMap::new(),
            this_run: HashMap::new(),
        }
    }

    /// A new run of the importer: the deployment's knowledge, this run's forgotten.
    fn next_run(knowledge: Knowledge) -> Knowledge {
        Knowledge {
            known: knowledge.known,
            this_run: HashMap::new(),
        }
    }

    #[test]
    fn an_alternative_goes_first_for_everyone_only_once_two_runs_saw_it_and_for_a_day() {
        let question = Question::daily_filter(data_type("daily-vo2-max").unwrap());
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut knowledge = knowing_nothing();
        assert_eq!(knowledge.order(&question, now), [SNAKE, CAMEL, UNFILTERED]);

        // One run saw camelCase answer: it goes first in that run only.
        let stored = knowledge.worked(&question, CAMEL, now).unwrap();
        assert_eq!(stored.confirmations, 1);
        assert_eq!(knowledge.order(&question, now)[0], CAMEL);
        assert_eq!(
            knowledge.worked(&question, CAMEL, now),
            None,
            "once per run"
        );
        let mut knowledge = next_run(knowledge);
        assert_eq!(knowledge.order(&question, now)[0], SNAKE);

        // A second run saw it too: now every run tries it first, for a day.
        assert_eq!(
            knowledge
                .worked(&question, CAMEL, now)
                .unwrap()
                .confirmations,
            2
        );
        let knowledge = next_run(knowledge);
        assert_eq!(knowledge.order(&question, now), [CAMEL, SNAKE, UNFILTERED]);
        let a_day_later = now + RECHECK_AFTER;
        assert_eq!(knowledge.order(&question, a_day_later)[0], SNAKE);

        // The documented spelling answering again ends it.
        let mut knowledge = next_run(knowledge);
        let stored = knowledge.worked(&question, SNAKE, a_day_later).unwrap();
        assert_eq!((stored.variant.as_str(), stored.confirmations), (SNAKE, 1));
        assert_eq!(knowledge.worked(&question, SNAKE, a_day_later), None);
        assert_eq!(next_run(knowledge).order(&question, a_day_later)[0], SNAKE);
    }

    #[test]
    fn questions_are_per_method_and_data_type() {
        let calories = data_type("total-calories").unwrap();
        let steps = data_type("steps").unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut knowledge = knowing_nothing();
        let daily = Question::roll_up_page_size("dailyRollUp", calories);
        knowledge.worked(&daily, PAGE_SIZE_OMITTED, now);
        assert_eq!(knowledge.order(&daily, now)[0], PAGE_SIZE_OMITTED);
        for other in [
            Question::roll_up_page_size("rollUp", calories),
            Question::roll_up_page_size("dailyRollUp", steps),
        ] {
            assert_eq!(knowledge.order(&other, now)[0], PAGE_SIZE_SENT);
        }
    }
}
