//! End-to-end tests: the whole system on the local stack (web, worker, a private redis-server,
//! the Google and Open Humans simulators), driven over HTTP like a member's browser.

mod accounts;
mod bad_callbacks;
mod bad_forms;
mod browser;
mod crash;
mod dev_stack;
mod durability;
mod helpers;
mod import;
mod journey;
mod keys;
mod leaving;
mod many_members;
mod operator;
mod real_google;
mod scenarios;
mod worker_failures;
