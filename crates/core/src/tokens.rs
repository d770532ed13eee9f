//! Access tokens for a member: refreshed ahead of expiry, and always stored before they are
//! used, so a crash right after a refresh cannot lose a rotated refresh token (Open Humans
//! rotates them on every refresh; Google sometimes does).

use std::future::Future;

use google_health::{ClientCredentials, GoogleOAuth, OAuthError};
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;

use crate::{
    Error, Provider,
    members::{GoogleTokens, Member, MemberStore, OpenHumansTokens},
};

/// Refresh this long before expiry, so a token never expires in the middle of a request.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

#[derive(Clone)]
pub struct TokenKeeper {
    members: MemberStore,
    open_humans: open_humans::OpenHumans,
    google: GoogleOAuth,
    google_client: ClientCredentials,
}

impl TokenKeeper {
    pub fn new(
        members: MemberStore,
        open_humans: open_humans::OpenHumans,
        google: GoogleOAuth,
        google_client: ClientCredentials,
    ) -> Self {
        Self {
            members,
            open_humans,
            google,
            google_client,
        }
    }

    /// The member's Google access token, refreshed first if it is about to expire or `force`d
    /// (after the API answered 401).
    pub async fn google_access_token(
        &self,
        member: &mut Member,
        force: bool,
    ) -> Result<SecretString, Error> {
        let tokens = member
            .google_tokens
            .as_ref()
            .ok_or(Error::NotConnected(Provider::Google))?;
        if !force && tokens.expires_at > Timestamp::now() + REFRESH_MARGIN {
            return Ok(tokens.access_token.clone());
        }
        let fresh = self
            .google
            .refresh(&self.google_client, &tokens.refresh_token)
            .await
            .map_err(|error| match error {
                OAuthError::InvalidGrant => Error::GrantRevoked(Provider::Google),
                other => Error::TokenRefresh {
                    provider: Provider::Google,
                    transient: matches!(
                        other,
                        OAuthError::Server { .. } | OAuthError::Transport(_)
                    ),
                    source: Box::new(other),
                },
            })?;
        let now = Timestamp::now();
        let renewed = GoogleTokens {
            access_token: fresh.access_token,
            refresh_token: fresh
                .refresh_token
                .unwrap_or_else(|| tokens.refresh_token.clone()),
            expires_at: now + fresh.expires_in,
            refresh_expires_at: fresh
                .refresh_token_expires_in
                .map(|lifetime| now + lifetime)
                .or(tokens.refresh_expires_at),
        };
        self.members
            .save_google_tokens(&member.id, &renewed)
            .await?;
        let access = renewed.access_token.clone();
        member.google_tokens = Some(renewed);
        Ok(access)
    }

    /// The member's Open Humans access token, refreshed first if it is about to expire or
    /// `force`d (after the API answered 401).
    pub async fn open_humans_access_token(
        &self,
        member: &mut Member,
        force: bool,
    ) -> Result<SecretString, Error> {
        if !force && member.open_humans.expires_at > Timestamp::now() + REFRESH_MARGIN {
            return Ok(member.open_humans.access_token.clone());
        }
        let fresh = self
            .open_humans
            .refresh(&member.open_humans.refresh_token)
            .await
            .map_err(|error| {
                if error.needs_reauthorization() {
                    Error::GrantRevoked(Provider::OpenHumans)
                } else {
                    Error::TokenRefresh {
                        provider: Provider::OpenHumans,
                        transient: error.is_transient(),
                        source: Box::new(error),
                    }
                }
            })?;
        let renewed = OpenHumansTokens {
            access_token: fresh.access_token,
            refresh_token: fresh.refresh_token,
            expires_at: Timestamp::now() + fresh.expires_in,
        };
        self.members
            .save_open_humans_tokens(&member.id, &renewed)
            .await?;
        let access = renewed.access_token.clone();
        member.open_humans = renewed;
        Ok(access)
    }

    /// Calls Open Humans with the member's token; when Open Humans answers 401 although the
    /// token should be valid (clock skew, an early revocation), refreshes once and calls again.
    /// The outer error is about the token; the inner one is the call's own.
    pub async fn with_open_humans<T, Call, Sent>(
        &self,
        member: &mut Member,
        mut call: Call,
    ) -> Result<Result<T, open_humans::Error>, Error>
    where
        Call: FnMut(open_humans::OpenHumans, SecretString) -> Sent,
        Sent: Future<Output = Result<T, open_humans::Error>>,
    {
        let token = self.open_humans_access_token(member, false).await?;
        match call(self.open_humans.clone(), token).await {
            Err(open_humans::Error::Unauthorized { .. }) => {
                let token = self.open_humans_access_token(member, true).await?;
                Ok(call(self.open_humans.clone(), token).await)
            }
            other => Ok(other),
        }
    }
}
