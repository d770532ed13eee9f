//! Access tokens for a member, refreshed ahead of expiry.
//!
//! A refresh is single-flight per member across every process: it takes a Redis lock, re-reads
//! the stored tokens (another process may have refreshed them while this one waited, or the
//! member may have reconnected), refreshes only if they are still stale, and stores the result
//! only if nobody replaced them meanwhile. It runs as a task of its own, so a caller that is
//! cancelled (a dropped web request, a worker handing its job back) cannot lose a refresh token
//! that the provider has already rotated: Open Humans invalidates the old one on every refresh.

use std::{future::Future, time::Duration};

use google_health::{ClientCredentials, GoogleOAuth, OAuthError};
use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    Error, Provider,
    locks::Locks,
    members::{GoogleTokens, Member, MemberStore, OpenHumansTokens},
};

/// Refresh this long before expiry, so a token never expires in the middle of a request.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);
/// Longer than any refresh can take (one token request, bounded by the HTTP client's timeout,
/// and two Redis calls), so the lock never lapses while its holder is still refreshing: a
/// second refresh would spend Open Humans' rotated refresh token twice and lose the member.
/// A holder that died releases the lock after this.
const LOCK_LIFETIME: Duration = Duration::from_secs(crate::clients::HTTP_TIMEOUT.as_secs() + 30);
const LOCK_WAIT: Duration = Duration::from_secs(LOCK_LIFETIME.as_secs() + 5);

#[derive(Clone)]
pub struct TokenKeeper {
    members: MemberStore,
    locks: Locks,
    open_humans: open_humans::OpenHumans,
    google: GoogleOAuth,
    google_client: ClientCredentials,
}

impl TokenKeeper {
    pub fn new(
        members: MemberStore,
        locks: Locks,
        open_humans: open_humans::OpenHumans,
        google: GoogleOAuth,
        google_client: ClientCredentials,
    ) -> Self {
        Self {
            members,
            locks,
            open_humans,
            google,
            google_client,
        }
    }

    /// Hands the member's Google grant back (every scope, every token of it). A member with no
    /// Google tokens, or whose grant Google already dropped, has nothing left to revoke.
    pub async fn revoke_google(&self, member: &Member) -> Result<(), OAuthError> {
        let Some(tokens) = &member.google_tokens else {
            return Ok(());
        };
        match self.google.revoke(&tokens.refresh_token).await {
            Err(OAuthError::Rejected { error, .. }) if error == "invalid_token" => Ok(()),
            result => result,
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
        if !force && is_fresh(tokens.expires_at) {
            return Ok(tokens.access_token.clone());
        }
        let stale = tokens.access_token.clone();
        *member = self
            .in_own_task(
                Provider::Google,
                member.id.clone(),
                |keeper, id| async move { keeper.refresh_google(&id, &stale).await },
            )
            .await?;
        member
            .google_tokens
            .as_ref()
            .map(|tokens| tokens.access_token.clone())
            .ok_or(Error::NotConnected(Provider::Google))
    }

    /// The member's Open Humans access token, refreshed first if it is about to expire or
    /// `force`d (after the API answered 401).
    pub async fn open_humans_access_token(
        &self,
        member: &mut Member,
        force: bool,
    ) -> Result<SecretString, Error> {
        if !force && is_fresh(member.open_humans.expires_at) {
            return Ok(member.open_humans.access_token.clone());
        }
        let stale = member.open_humans.access_token.clone();
        *member = self
            .in_own_task(
                Provider::OpenHumans,
                member.id.clone(),
                |keeper, id| async move { keeper.refresh_open_humans(&id, &stale).await },
            )
            .await?;
        Ok(member.open_humans.access_token.clone())
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

    /// Runs `refresh` under the member's refresh lock, in a task of its own, and returns the
    /// member as stored afterwards.
    async fn in_own_task<Refresh, Refreshed>(
        &self,
        provider: Provider,
        id: ProjectMemberId,
        refresh: Refresh,
    ) -> Result<Member, Error>
    where
        Refresh: FnOnce(TokenKeeper, ProjectMemberId) -> Refreshed + Send + 'static,
        Refreshed: Future<Output = Result<Member, Error>> + Send,
    {
        let keeper = self.clone();
        let task = tokio::spawn(async move {
            let name = format!("refresh:{}:{id}", lock_name(provider));
            let guard = keeper
                .locks
                .acquire(&name, LOCK_LIFETIME, LOCK_WAIT)
                .await?;
            let result = refresh(keeper.clone(), id).await;
            if let Err(error) = keeper.locks.release(guard).await {
                tracing::warn!(%error, "releasing a refresh lock failed; it expires by itself");
            }
            result
        });
        task.await.map_err(|error| Error::Task(error.to_string()))?
    }

    async fn refresh_google(
        &self,
        id: &ProjectMemberId,
        stale: &SecretString,
    ) -> Result<Member, Error> {
        let current = self.load(id).await?;
        let tokens = current
            .google_tokens
            .clone()
            .ok_or(Error::NotConnected(Provider::Google))?;
        if replaced_and_fresh(&tokens.access_token, stale, tokens.expires_at) {
            return Ok(current);
        }
        let fresh = self
            .google
            .refresh(&self.google_client_of(&current)?, &tokens.refresh_token)
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
            refresh_token: fresh.refresh_token.unwrap_or(tokens.refresh_token),
            expires_at: now + fresh.expires_in,
            refresh_expires_at: fresh
                .refresh_token_expires_in
                .map(|lifetime| now + lifetime)
                .or(tokens.refresh_expires_at),
        };
        // Whether written or found replaced by a reconnect, the stored tokens are the ones to use.
        self.members
            .replace_google_tokens(&current, &renewed)
            .await?;
        self.load(id).await
    }

    /// The client the member's grant was made to: a refresh token only works with it.
    pub fn google_client_of(&self, member: &Member) -> Result<ClientCredentials, Error> {
        if !member.connected_via_own_client() {
            return Ok(self.google_client.clone());
        }
        let own = member
            .own_client
            .as_ref()
            .ok_or(Error::GrantRevoked(Provider::Google))?;
        Ok(ClientCredentials {
            client_id: own.client_id.clone(),
            client_secret: own.client_secret.clone(),
        })
    }

    async fn refresh_open_humans(
        &self,
        id: &ProjectMemberId,
        stale: &SecretString,
    ) -> Result<Member, Error> {
        let current = self.load(id).await?;
        let tokens = &current.open_humans;
        if replaced_and_fresh(&tokens.access_token, stale, tokens.expires_at) {
            return Ok(current);
        }
        let fresh = self
            .open_humans
            .refresh(&tokens.refresh_token)
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
            .replace_open_humans_tokens(&current, &renewed)
            .await?;
        self.load(id).await
    }

    async fn load(&self, id: &ProjectMemberId) -> Result<Member, Error> {
        self.members
            .load(id)
            .await?
            .ok_or_else(|| Error::MemberNotFound(id.to_string()))
    }
}

fn is_fresh(expires_at: Timestamp) -> bool {
    expires_at > Timestamp::now() + REFRESH_MARGIN
}

/// Someone else refreshed (or the member reconnected) while this process waited for the lock.
fn replaced_and_fresh(stored: &SecretString, stale: &SecretString, expires_at: Timestamp) -> bool {
    stored.expose_secret() != stale.expose_secret() && is_fresh(expires_at)
}

fn lock_name(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenHumans => "open-humans",
        Provider::Google => "google",
    }
}
