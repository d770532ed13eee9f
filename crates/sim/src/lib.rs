//! Simulators of the two outside services this project talks to, faithful to
//! `reference/google-health-api.md` §8 and `reference/openhumans-api.md` §11:
//!
//! * `google`: Google OAuth 2.0 (authorize, token, revoke) and the Google Health API v4, serving a
//!   deterministic persona with about ten years of history, plus the Google Cloud console page
//!   that creates an OAuth client (`/console/clients/new`);
//! * `openhumans`: the Open Humans project API (OAuth2, exchange-member, the 3-step direct upload
//!   with a presigned S3 PUT, complete, delete, downloads, messages).
//!
//! Each runs as a real HTTP server on loopback. They share one [`SimClock`], and each has a request
//! journal and fault injection under `/__admin/`. Tests, benchmarks and the local stack (`dev`)
//! all use them; `oh-fitbit sim` runs them on their own.

pub mod admin;
pub mod clock;
pub mod faults;
pub mod journal;
pub mod server;
pub mod wire;

#[cfg(feature = "google")]
pub mod google;
#[cfg(feature = "open-humans")]
pub mod openhumans;

pub use admin::Instruments;
pub use clock::SimClock;
pub use faults::FaultSpec;
pub use journal::{Journal, JournalEntry};
pub use server::SimServer;
pub use wire::{WireMeter, WireTotals};
