//! The simulators' shared clock.
//!
//! Token lifetimes, quota windows, presigned-URL expiry and the persona's "today" all read this
//! clock, so a test can move time forward (`POST /__admin/clock`) instead of sleeping.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// A clock that runs at real speed from an adjustable offset, or stands still when frozen.
#[derive(Clone, Debug, Default)]
pub struct SimClock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug, Default)]
struct ClockState {
    offset: SignedDuration,
    frozen_at: Option<Timestamp>,
}

impl SimClock {
    /// A clock that follows real time.
    pub fn real() -> Self {
        Self::default()
    }

    /// A clock that reads `now` and keeps running from there.
    pub fn starting_at(now: Timestamp) -> Self {
        let clock = Self::default();
        clock.set(now);
        clock
    }

    pub fn now(&self) -> Timestamp {
        let state = self.lock();
        match state.frozen_at {
            Some(at) => at,
            None => Timestamp::now() + state.offset,
        }
    }

    /// Moves the clock to `now`; a running clock keeps running from there.
    pub fn set(&self, now: Timestamp) {
        let mut state = self.lock();
        match state.frozen_at {
            Some(_) => state.frozen_at = Some(now),
            None => state.offset = now.duration_since(Timestamp::now()),
        }
    }

    pub fn advance(&self, by: SignedDuration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Stops the clock at its current reading (`true`) or lets it run again from there (`false`).
    pub fn freeze(&self, frozen: bool) {
        let now = self.now();
        let mut state = self.lock();
        if frozen {
            state.frozen_at = Some(now);
        } else {
            state.frozen_at = None;
            state.offset = now.duration_since(Timestamp::now());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // A poisoned lock only means a handler panicked; the clock value itself is still valid.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_advance_move_a_running_clock() {
        let start: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let clock = SimClock::starting_at(start);
        assert!(clock.now().duration_since(start).abs() < SignedDuration::from_secs(5));
        clock.advance(SignedDuration::from_hours(1));
        let later = clock.now().duration_since(start);
        assert!(later >= SignedDuration::from_hours(1));
        assert!(later < SignedDuration::from_hours(1) + SignedDuration::from_secs(5));
    }

    #[test]
    fn a_frozen_clock_stands_still_until_moved() {
        let start: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
        let clock = SimClock::starting_at(start);
        clock.freeze(true);
        let frozen = clock.now();
        assert_eq!(clock.now(), frozen);
        clock.advance(SignedDuration::from_secs(3599));
        assert_eq!(clock.now(), frozen + SignedDuration::from_secs(3599));
    }
}
