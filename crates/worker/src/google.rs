//! Calls to the Google Health API on a member's behalf: one refresh-and-retry after a 401, and a
//! few quick retries with jitter for 5xx and network errors. Quota waits and everything else go
//! back to the caller, because they end the run (the queue reschedules it) rather than being
//! slept through while holding the member's lease.

use std::time::Duration;

use google_health::{ApiError, HealthApi};
use oh_fitbit_core::{error_chain, members::Member};
use secrecy::SecretString;

use crate::{context::WorkerContext, error::SyncError, jitter};

const TRANSIENT_RETRIES: u32 = 3;

pub(crate) struct GoogleSession<'a> {
    ctx: &'a WorkerContext,
    member: &'a mut Member,
    token: SecretString,
    /// Requests sent, retries included.
    pub requests: u32,
}

impl<'a> GoogleSession<'a> {
    pub(crate) async fn open(
        ctx: &'a WorkerContext,
        member: &'a mut Member,
    ) -> Result<Self, SyncError> {
        let token = ctx.tokens.google_access_token(member, false).await?;
        Ok(Self {
            ctx,
            member,
            token,
            requests: 0,
        })
    }

    pub(crate) fn member(&self) -> &Member {
        self.member
    }

    /// The member, for the Open Humans calls made while the session is open.
    pub(crate) fn member_mut(&mut self) -> &mut Member {
        self.member
    }

    /// Sends one request; `context` names it (method, data type, window) for errors and logs.
    /// `request` gets its own handles (cheap clones) so the future it returns owns everything.
    pub(crate) async fn call<T, Request, Sent>(
        &mut self,
        context: &str,
        mut request: Request,
    ) -> Result<T, SyncError>
    where
        Request: FnMut(HealthApi, SecretString) -> Sent,
        Sent: Future<Output = Result<T, ApiError>>,
    {
        let mut refreshed = false;
        let mut failures = 0;
        loop {
            self.requests += 1;
            match request(self.ctx.health.clone(), self.token.clone()).await {
                Ok(value) => return Ok(value),
                Err(ApiError::Unauthorized) if !refreshed => {
                    refreshed = true;
                    self.token = self
                        .ctx
                        .tokens
                        .google_access_token(self.member, true)
                        .await?;
                }
                // The quota is per minute: the run ends and the queue brings it back when the
                // window has reset, instead of the lease being held through the wait.
                Err(error @ ApiError::QuotaExceeded { .. }) => {
                    return Err(SyncError::api(context, error));
                }
                Err(error) if error.is_transient() && failures < TRANSIENT_RETRIES => {
                    failures += 1;
                    let pause = jitter(Duration::from_millis(500) * 2u32.pow(failures));
                    tracing::warn!(%context, error = %error_chain(&error), ?pause, "retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(error) => return Err(SyncError::api(context, error)),
            }
        }
    }
}
