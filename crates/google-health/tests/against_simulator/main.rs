//! The client driven against the Google simulator over real HTTP: consent, token exchange and
//! refresh, the Health API methods and every error the importer must tell apart.

mod account;
mod data;
mod failures;
mod harness;
mod oauth;
