//! The client against the Open Humans simulator, over real HTTP.

mod helpers;
mod listing;
mod messages;
mod oauth;
mod upload;
