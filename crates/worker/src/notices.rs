//! Open Humans messages to a member about their Google grant: that it ended (reconnect to
//! continue), and, ahead of time, that it is about to end (a client in Testing status). Each is
//! sent once: a parked job is not retried, and an announced expiry is recorded.

use jiff::Timestamp;
use oh_fitbit_core::{
    error_chain,
    members::{EXPIRY_WARNING, Member},
};
use open_humans::ProjectMemberId;

use crate::{context::WorkerContext, error::SyncError};

const RECONNECT_SUBJECT: &str = "Reconnect Fitbit to continue your import";
const EXPIRY_SUBJECT: &str = "Your Fitbit import stops soon unless you reconnect";

/// Tells a member whose Google grant expired or was revoked to reconnect.
pub(crate) async fn ask_to_reconnect(ctx: &WorkerContext, member: &ProjectMemberId) {
    let sent = async {
        let mut member = load(ctx, member).await?;
        if member.google_tokens.is_none() {
            // They disconnected Fitbit themselves meanwhile: nothing to reconnect.
            return Ok(false);
        }
        let body = format!(
            "Google no longer gives the Fitbit data source access to your Fitbit data: the \
             access expired or was revoked. Your files on Open Humans are kept. To continue \
             the import, reconnect Fitbit at {}",
            ctx.dashboard_url
        );
        send(ctx, &mut member, RECONNECT_SUBJECT, body).await?;
        Ok::<bool, SyncError>(true)
    };
    log("asked the member to reconnect Fitbit", sent.await);
}

/// Warns a member whose grant ends within [`EXPIRY_WARNING`], once per grant.
pub(crate) async fn announce_expiry(ctx: &WorkerContext, member: &ProjectMemberId) {
    let sent = async {
        let mut member = load(ctx, member).await?;
        let Some(ends) = member
            .google_tokens
            .as_ref()
            .and_then(|tokens| tokens.refresh_expires_at)
        else {
            return Ok(false);
        };
        // The database keeps instants to the microsecond: compare at that precision.
        let announced = member
            .expiry_announced
            .is_some_and(|announced| announced.as_microsecond() == ends.as_microsecond());
        if ends > Timestamp::now() + EXPIRY_WARNING || announced {
            return Ok(false);
        }
        let body = format!(
            "Google ends the Fitbit data source's access to your Fitbit data on {} UTC, because \
             your Google OAuth client is in Testing status (Google limits such access to 7 days). \
             Reconnect with one click on your dashboard to keep the import going: {}",
            ends.strftime("%Y-%m-%d %H:%M"),
            ctx.dashboard_url
        );
        send(ctx, &mut member, EXPIRY_SUBJECT, body).await?;
        ctx.members.save_expiry_announced(&member.id, ends).await?;
        Ok::<bool, SyncError>(true)
    };
    log("told the member their Google access ends soon", sent.await);
}

async fn load(ctx: &WorkerContext, member: &ProjectMemberId) -> Result<Member, SyncError> {
    ctx.members.load(member).await?.ok_or(SyncError::MemberGone)
}

async fn send(
    ctx: &WorkerContext,
    member: &mut Member,
    subject: &'static str,
    body: String,
) -> Result<(), SyncError> {
    ctx.tokens
        .with_open_humans(member, |api, token| {
            let body = body.clone();
            async move { api.message(&token, subject, &body).await }
        })
        .await??;
    Ok(())
}

fn log(what: &str, sent: Result<bool, SyncError>) {
    match sent {
        Ok(true) => tracing::info!("{what}"),
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "could not send a message: {what}")
        }
    }
}
