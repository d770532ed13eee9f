//! Browser tests: the member's pages in a real headless Chromium, driven through chromedriver
//! (both installed by `scripts/test`). Each test saves screenshots of its steps under
//! `target/tmp/screenshots/<test>/`.

mod journeys;
mod linking;
mod steps;
mod webdriver;
