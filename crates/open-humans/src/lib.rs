//! Client for the Open Humans project API (`reference/openhumans-api.md`): the OAuth2 flow a
//! member goes through to connect, `exchange-member`, the three-step direct upload, deletion
//! by file id and project messages.
//!
//! The access token only ever travels in the `Authorization` header: Open Humans accepts it
//! there on every endpoint we call (§1.2), and a token in a URL ends up in access logs.

mod client;
mod delete;
mod download;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod ids;
mod member;
mod message;
mod metadata;
mod oauth;
mod reply;
mod upload;

pub use client::{Config, OpenHumans};
pub use error::Error;
pub use ids::{ParseProjectMemberIdError, ProjectMemberId};
pub use member::{Member, RemoteFile};
pub use metadata::FileMetadata;
pub use oauth::Tokens;
pub use upload::{NewFile, UploadedFile};
