//! `exchange-member` (§4.1): who the token belongs to and which files they hold.

use std::{collections::HashSet, fmt};

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, de::Error as _};
use url::Url;

use crate::{Error, OpenHumans, ProjectMemberId, reply::Reply};

const WHAT: &str = "exchange-member";

/// The member behind an access token, with every file of theirs our project can see.
#[derive(Clone, Debug)]
pub struct Member {
    pub project_member_id: ProjectMemberId,
    /// Present only when the project asks members to share their username.
    pub username: Option<String>,
    /// When the member first joined the project; re-authorising does not change it.
    pub created: Option<Timestamp>,
    /// Other projects whose files the member shares with us.
    pub sources_shared: Vec<String>,
    pub files: Vec<RemoteFile>,
}

impl Member {
    /// Files this project uploaded. Open Humans lists shared sources' files alongside ours;
    /// like `ohapi`, a file is ours when its source is not one of the shared sources, which
    /// needs no knowledge of our own project id.
    pub fn own_files(&self) -> impl Iterator<Item = &RemoteFile> {
        self.files
            .iter()
            .filter(|file| !self.sources_shared.contains(&file.source))
    }
}

/// One completed file as `exchange-member` lists it.
#[derive(Clone, Deserialize)]
pub struct RemoteFile {
    pub id: u64,
    pub basename: String,
    pub created: Timestamp,
    /// A capability: anyone holding it can read the file for an hour, so it is kept out of
    /// `Debug` output.
    pub download_url: Url,
    /// Exactly the JSON object the uploader sent as metadata.
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// `direct-sharing-<project id>` of the project that uploaded the file.
    pub source: String,
}

impl fmt::Debug for RemoteFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteFile")
            .field("id", &self.id)
            .field("basename", &self.basename)
            .field("created", &self.created)
            .field("download_url", &"<redacted>")
            .field("metadata", &self.metadata)
            .field("source", &self.source)
            .finish()
    }
}

/// One page of `exchange-member`; only `data` differs between pages.
#[derive(Deserialize)]
pub(crate) struct Page {
    next: Option<Url>,
    project_member_id: ProjectMemberId,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    created: Option<Timestamp>,
    #[serde(default)]
    sources_shared: Vec<String>,
    data: Vec<RemoteFile>,
}

impl OpenHumans {
    /// Reads every page: Open Humans pages the file list 100 at a time (§4.1).
    pub async fn exchange_member(&self, access_token: &SecretString) -> Result<Member, Error> {
        let first_url = self.endpoint("api/direct-sharing/project/exchange-member/");
        let mut seen = HashSet::from([first_url.clone()]);
        let first = self.member_page(access_token, first_url).await?;
        let mut next = first.next;
        let mut member = Member {
            project_member_id: first.project_member_id,
            username: first.username,
            created: first.created,
            sources_shared: first.sources_shared,
            files: first.data,
        };
        while let Some(url) = next {
            self.check_next_link(&url, &mut seen)?;
            let page = self.member_page(access_token, url).await?;
            member.files.extend(page.data);
            next = page.next;
        }
        Ok(member)
    }

    async fn member_page(&self, access_token: &SecretString, url: Url) -> Result<Page, Error> {
        let request = self.http.get(url).bearer_auth(access_token.expose_secret());
        Reply::send(request).await?.json(WHAT)
    }

    /// The token goes with every page request, so a `next` link must stay on Open Humans;
    /// and a link seen before would make us loop forever.
    fn check_next_link(&self, url: &Url, seen: &mut HashSet<Url>) -> Result<(), Error> {
        let problem = if url.origin() != self.config.base_url.origin() {
            "a `next` link points away from Open Humans"
        } else if !seen.insert(url.clone()) {
            "a `next` link repeats an earlier page"
        } else {
            return Ok(());
        };
        Err(Error::Malformed {
            what: WHAT,
            source: serde_json::Error::custom(problem),
        })
    }
}
