//! Access tokens for a member, refreshed ahead of expiry.
//!
//! A refresh is single-flight per member across every process: it locks the member's token row
//! in the database (`SELECT … FOR UPDATE`) for the length of the refresh, re-reads the tokens
//! under the lock (another process may have refreshed them while this one waited, or the member
//! may have reconnected), refreshes only if they are still stale, and stores the result in the
//! same transaction. A process that dies while holding the lock releases it with its
//! connection.
//!
//! Open Humans invalidates the old refresh token on every refresh, so a rotated token must never
//! be lost: the refresh runs as a task of its own (a caller that is cancelled — a dropped web
//! request, a worker handing its job back — cannot abandon it), and when the store fails (the
//! database restarting under it) the new tokens are held in memory and the store retried with
//! backoff until it lands, or until a reconnect has replaced the tokens it would overwrite.

use std::{future::Future, time::Duration};

use google_health::{ClientCredentials, GoogleOAuth, OAuthError};
use jiff::{SignedDuration, Timestamp};
use open_humans::ProjectMemberId;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Postgres, Transaction};

use crate::{
    Error, Provider,
    members::{
        GoogleTokens, Member, MemberStore, OpenHumansTokens, Replaced, SealedTokens, TokenKind,
    },
};

/// Refresh this long before expiry, so a token never expires in the middle of a request.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);
/// The longest a store of refreshed tokens waits between attempts.
const STORE_BACKOFF_CAP: Duration = Duration::from_secs(5);
/// How long a refresh the provider refused waits before it believes the grant is gone: longer
/// than a store in retry waits between attempts, so a rotated token another process holds in
/// memory (its store failed) has landed by then, and is used instead.
const REFUSED_RECHECK: Duration = Duration::from_secs(6);

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
        let client = self.google_client_of(member)?;
        *member = self
            .in_own_task(member.id.clone(), |keeper, id| async move {
                keeper.refresh_google(&id, &client, &stale).await
            })
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
            .in_own_task(member.id.clone(), |keeper, id| async move {
                keeper.refresh_open_humans(&id, &stale).await
            })
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

    /// Runs `refresh` in a task of its own and returns the member as stored afterwards.
    async fn in_own_task<Refresh, Refreshed>(
        &self,
        id: ProjectMemberId,
        refresh: Refresh,
    ) -> Result<Member, Error>
    where
        Refresh: FnOnce(TokenKeeper, ProjectMemberId) -> Refreshed + Send + 'static,
        Refreshed: Future<Output = Result<Member, Error>> + Send,
    {
        let keeper = self.clone();
        let task = tokio::spawn(async move { refresh(keeper, id).await });
        task.await.map_err(|error| Error::Task(error.to_string()))?
    }

    async fn refresh_google(
        &self,
        id: &ProjectMemberId,
        client: &ClientCredentials,
        stale: &SecretString,
    ) -> Result<Member, Error> {
        let Some(mut locked) = self.lock(id, TokenKind::Google).await? else {
            return Err(Error::NotConnected(Provider::Google));
        };
        let tokens: GoogleTokens = locked.tokens.take().expect("just read").into();
        if replaced_and_fresh(&tokens.access_token, stale, tokens.expires_at) {
            drop(locked);
            return self.load(id).await;
        }
        let fresh = match self.google.refresh(client, &tokens.refresh_token).await {
            Ok(fresh) => fresh,
            Err(OAuthError::InvalidGrant) => return self.refused(locked, Provider::Google).await,
            Err(other) => {
                return Err(Error::TokenRefresh {
                    provider: Provider::Google,
                    transient: matches!(
                        other,
                        OAuthError::Server { .. } | OAuthError::Transport(_)
                    ),
                    source: Box::new(other),
                });
            }
        };
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
        self.store(locked, (&renewed).into()).await;
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
        let Some(mut locked) = self.lock(id, TokenKind::OpenHumans).await? else {
            return Err(Error::MemberNotFound(id.to_string()));
        };
        let tokens: OpenHumansTokens = locked.tokens.take().expect("just read").into();
        if replaced_and_fresh(&tokens.access_token, stale, tokens.expires_at) {
            drop(locked);
            return self.load(id).await;
        }
        let fresh = match self.open_humans.refresh(&tokens.refresh_token).await {
            Ok(fresh) => fresh,
            Err(error) if error.needs_reauthorization() => {
                return self.refused(locked, Provider::OpenHumans).await;
            }
            Err(error) => {
                return Err(Error::TokenRefresh {
                    provider: Provider::OpenHumans,
                    transient: error.is_transient(),
                    source: Box::new(error),
                });
            }
        };
        let renewed = OpenHumansTokens {
            access_token: fresh.access_token,
            refresh_token: fresh.refresh_token,
            expires_at: Timestamp::now() + fresh.expires_in,
        };
        self.store(locked, (&renewed).into()).await;
        self.load(id).await
    }

    /// Locks the member's token row of `kind` for a refresh and reads it; `None` when there is
    /// no such row.
    async fn lock(&self, id: &ProjectMemberId, kind: TokenKind) -> Result<Option<Locked>, Error> {
        let mut tx = self
            .members
            .database()
            .pool()
            .begin()
            .await
            .map_err(Error::Database)?;
        // A holder is at most one token request (bounded by the HTTP client's timeout) ahead.
        sqlx::query("SET LOCAL lock_timeout = '120s'")
            .execute(&mut *tx)
            .await
            .map_err(Error::Database)?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT sealed, revision FROM tokens WHERE member_id = $1 AND provider = $2 \
             FOR UPDATE",
        )
        .bind(id.as_str())
        .bind(kind.provider())
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::Database)?;
        let Some((sealed, revision)) = row else {
            return Ok(None);
        };
        Ok(Some(Locked {
            tx,
            id: id.clone(),
            kind,
            revision,
            tokens: Some(self.members.open_tokens(id, kind, &sealed)?),
        }))
    }

    /// The provider refused the refresh token. Before the grant counts as gone, the tokens are
    /// read again a little later: a process whose store failed may hold newer ones it is still
    /// storing (Open Humans had rotated the token), and those are the member's grant.
    async fn refused(&self, locked: Locked, provider: Provider) -> Result<Member, Error> {
        let Locked {
            tx,
            id,
            kind,
            revision,
            ..
        } = locked;
        drop(tx);
        tokio::time::sleep(REFUSED_RECHECK).await;
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT revision FROM tokens WHERE member_id = $1 AND provider = $2",
        )
        .bind(id.as_str())
        .bind(kind.provider())
        .fetch_optional(self.members.database().pool())
        .await
        .map_err(Error::Database)?;
        match stored {
            Some(stored) if stored != revision => self.load(&id).await,
            _ => Err(Error::GrantRevoked(provider)),
        }
    }

    /// Stores refreshed tokens in the locking transaction; if that fails, keeps trying outside
    /// it for as long as the tokens are still those the refresh started from.
    async fn store(&self, locked: Locked, renewed: SealedTokens) {
        let Locked {
            mut tx,
            id,
            kind,
            revision,
            ..
        } = locked;
        let sealed = self.members.seal_tokens(&id, kind, &renewed);
        let stored = async {
            let updated = sqlx::query(
                "UPDATE tokens SET sealed = $3, revision = revision + 1 \
                 WHERE member_id = $1 AND provider = $2",
            )
            .bind(id.as_str())
            .bind(kind.provider())
            .bind(&sealed)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(updated.rows_affected())
        }
        .await;
        let Err(error) = stored else {
            return;
        };
        tracing::warn!(
            member = %id,
            error = %crate::error_chain(&error),
            "storing refreshed tokens failed; holding them and trying again"
        );
        let mut pause = Duration::from_millis(100);
        loop {
            tokio::time::sleep(pause).await;
            match self
                .members
                .replace_sealed_tokens(&id, kind, &sealed, revision)
                .await
            {
                Ok(Replaced::Written) => {
                    tracing::info!(member = %id, "stored the refreshed tokens");
                    return;
                }
                // Stored after all (the commit's answer was lost), or replaced by a reconnect.
                Ok(Replaced::Changed) => return,
                Err(error) => tracing::warn!(
                    member = %id,
                    error = %crate::error_chain(&error),
                    "storing refreshed tokens failed again; holding them"
                ),
            }
            pause = (pause * 2).min(STORE_BACKOFF_CAP);
        }
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

/// A member's token row, locked for a refresh until the transaction ends.
struct Locked {
    tx: Transaction<'static, Postgres>,
    id: ProjectMemberId,
    kind: TokenKind,
    revision: i64,
    tokens: Option<SealedTokens>,
}
