//! Operator commands: what an operator runs with `heroku run oh-fitbit …` (or locally against
//! the same environment as the worker) to see and steer members and their sync jobs. They
//! print no token or secret.

use std::io::Write;

use anyhow::{Context, bail};
use std::{sync::Arc, time::Duration};

use oh_fitbit_core::{
    Error, Provider,
    config::{self, DatabaseConfig, Environment, RedisConfig, StagingConfig},
    crypto::SealedWith,
    db::Database,
    departure,
    keys::{self, Kind},
    legacy,
    members::{Member, MemberStore},
    queue::JobStatus,
    redis_conn::Redis,
    staging::Staging,
};
use oh_fitbit_worker::WorkerContext;
use open_humans::ProjectMemberId;

use crate::processes;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Lists every member: Fitbit link, job state, attempts, last outcome, next run.
    Members,
    /// Shows one member: accounts, preferences, cursors, files waiting to be published, job.
    Member { id: String },
    /// Queues a sync now for the members given, or for every member with `--all`.
    Enqueue {
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Queues every member in the dead set again, with their attempts reset.
    RequeueDead,
    /// Refreshes members' Google and Open Humans tokens that have expired (all of them with
    /// `--all`); with `--deauth`, drops a Fitbit link whose refresh Google refuses, and a member
    /// whose refresh Open Humans refuses (they left the project).
    RefreshTokens {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        deauth: bool,
    },
    /// Prints how many jobs are ready, scheduled, running and dead.
    QueueStats,
}

/// Rotating `TOKEN_ENCRYPTION_KEY` (see SETUP.md). Neither command prints a key: old keys are
/// named by their position in `TOKEN_ENCRYPTION_OLD_KEYS`.
#[derive(Debug, clap::Subcommand)]
pub enum Keys {
    /// Counts the values of each kind sealed with the current key, with each old key, and with
    /// none of the configured keys.
    Status,
    /// Seals again with the current key every value an old key sealed; safe beside running web
    /// and worker processes, and to run again. Fails if anything is left sealed with an old key
    /// or unreadable.
    Reseal,
}

/// `keys`, configured like the worker from what it needs only: `DATABASE_URL`, the token keys
/// and the staging store.
pub async fn keys(env: &Environment, command: Keys, out: &mut dyn Write) -> anyhow::Result<()> {
    let cipher = Arc::new(config::token_cipher_from_env(env)?);
    let staging = Staging::from_config(&StagingConfig::from_env(env)?, cipher.clone());
    let db = Database::connect(&DatabaseConfig::from_env(env)?, Duration::from_secs(30))
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    let members = MemberStore::new(db, cipher.clone());
    match command {
        Keys::Status => {
            let status = keys::status(&members, &staging).await?;
            print_key_status(&status, cipher.old_keys(), out)
        }
        Keys::Reseal => {
            let report = keys::reseal(&members, &staging).await?;
            print_reseal(&report, out)?;
            if !report.finished() {
                bail!(
                    "{} skipped (listed above): not everything is sealed with the current key \
                     yet; keep the old keys configured, and run this again",
                    report.skipped.len()
                );
            }
            Ok(())
        }
    }
}

fn print_key_status(
    status: &keys::KeyStatus,
    old_keys: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let columns: Vec<(String, SealedWith)> =
        std::iter::once(("current".to_owned(), SealedWith::Current))
            .chain((0..old_keys).map(|position| {
                (
                    format!("old key {}", position + 1),
                    SealedWith::Old(position),
                )
            }))
            .chain([("unreadable".to_owned(), SealedWith::Unknown)])
            .collect();
    write!(out, "{:<26}", "sealed with")?;
    for (name, _) in &columns {
        write!(out, "{name:>12}")?;
    }
    writeln!(out)?;
    for kind in Kind::ALL {
        write!(out, "{:<26}", kind.label())?;
        for (_, with) in &columns {
            write!(out, "{:>12}", status.count(kind, *with))?;
        }
        writeln!(out)?;
    }
    if old_keys > 0 {
        writeln!(out, "(old key N: the Nth key in TOKEN_ENCRYPTION_OLD_KEYS)")?;
    }
    writeln!(
        out,
        "(staged chunks are counted by the key they name, the other values by opening them)"
    )?;
    match status.old() {
        0 => writeln!(
            out,
            "Nothing is sealed with an old key: TOKEN_ENCRYPTION_OLD_KEYS can be emptied."
        )?,
        old => writeln!(
            out,
            "{old} value(s) are sealed with an old key: run `oh-fitbit keys reseal`, and keep \
             the old keys until this shows none."
        )?,
    }
    if status.unreadable() > 0 {
        writeln!(
            out,
            "{} value(s) open with none of the configured keys: damaged, or sealed with a key \
             that is no longer configured.",
            status.unreadable()
        )?;
    }
    Ok(())
}

fn print_reseal(report: &keys::ResealReport, out: &mut dyn Write) -> anyhow::Result<()> {
    for (kind, done) in &report.done {
        write!(
            out,
            "{:<26}{} re-sealed, {} sealed with the current key already",
            kind.label(),
            done.resealed,
            done.current
        )?;
        if done.gone > 0 {
            write!(out, ", {} deleted meanwhile", done.gone)?;
        }
        writeln!(out)?;
    }
    for skipped in &report.skipped {
        let what = skipped.object.as_deref().unwrap_or(skipped.kind.label());
        writeln!(
            out,
            "{}  {what} skipped: {}",
            skipped.member,
            skipped.reason.describe()
        )?;
    }
    Ok(())
}

/// Runs `command` against the environment's database, Redis and staging, printing to stdout.
pub async fn run(command: Command) -> anyhow::Result<()> {
    let ctx = processes::worker_context_from_env(&Environment::process()).await?;
    execute(&ctx, command, &mut std::io::stdout().lock()).await
}

/// `migrate-from-redis`, configured like the worker (it needs only `DATABASE_URL`,
/// `REDIS_URL` and the token keys).
pub async fn migrate_from_redis(env: &Environment, out: &mut dyn Write) -> anyhow::Result<()> {
    let redis = Redis::new(&RedisConfig::from_env(env)?, 1)?;
    let cipher = config::token_cipher_from_env(env)?;
    let db = Database::connect(&DatabaseConfig::from_env(env)?, Duration::from_secs(30))
        .await
        .context("connecting to the database (DATABASE_URL)")?;
    let copied = legacy::copy_from_redis(&redis, &db, &cipher).await?;
    writeln!(
        out,
        "{} member(s) in Redis: {} new to the database, the others merged into what the \
         database had; {} erasure request(s); {} old Google dialect entr(ies) dropped \
         (learned deployment-wide from errors, so not kept)",
        copied.members, copied.new_members, copied.erasures, copied.dialect_entries_dropped
    )?;
    for (member, problem) in &copied.unreadable {
        writeln!(out, "{member}  not copied: {problem}")?;
    }
    if !copied.unreadable.is_empty() {
        bail!(
            "{} member record(s) could not be read; they stay in Redis",
            copied.unreadable.len()
        );
    }
    Ok(())
}

/// Runs `command` with the worker's context, writing what it reports to `out`.
pub async fn execute(
    ctx: &WorkerContext,
    command: Command,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        Command::Members => list_members(ctx, out).await,
        Command::Member { id } => show_member(ctx, &parse_id(&id)?, out).await,
        Command::Enqueue { ids, all } => {
            let members = match all {
                true => ctx.members.member_ids().await?,
                false => ids
                    .iter()
                    .map(|id| parse_id(id))
                    .collect::<Result<_, _>>()?,
            };
            enqueue(ctx, &members, out).await
        }
        Command::RequeueDead => {
            let dead: Vec<ProjectMemberId> = ctx
                .queue
                .dead()
                .await?
                .into_iter()
                .map(|(member, _)| member)
                .collect();
            enqueue(ctx, &dead, out).await
        }
        Command::RefreshTokens { all, deauth } => refresh_tokens(ctx, all, deauth, out).await,
        Command::QueueStats => {
            let stats = ctx.queue.stats().await?;
            writeln!(out, "ready           {}", stats.ready)?;
            writeln!(
                out,
                "scheduled       {} ({} due now)",
                stats.scheduled, stats.due
            )?;
            writeln!(
                out,
                "running         {} ({} with an expired lease)",
                stats.running, stats.expired_leases
            )?;
            writeln!(out, "dead            {}", stats.dead)?;
            Ok(())
        }
    }
}

fn parse_id(id: &str) -> anyhow::Result<ProjectMemberId> {
    id.parse()
        .map_err(|_| anyhow::anyhow!("{id:?} is not an Open Humans project member id"))
}

async fn load(ctx: &WorkerContext, id: &ProjectMemberId) -> anyhow::Result<Member> {
    ctx.members
        .load(id)
        .await?
        .with_context(|| format!("no member {id}"))
}

async fn list_members(ctx: &WorkerContext, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut ids = ctx.members.member_ids().await?;
    ids.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
    writeln!(
        out,
        "{:<10} {:<7} {:<10} {:>8} {:<12} {:<25}",
        "member", "fitbit", "job", "attempts", "last", "next run"
    )?;
    for id in &ids {
        let fitbit = match ctx.members.has_fitbit(id).await? {
            true => "linked",
            false => "-",
        };
        let job = ctx.queue.status(id).await?;
        writeln!(
            out,
            "{:<10} {:<7} {:<10} {:>8} {:<12} {:<25}",
            id.as_ref(),
            fitbit,
            job.state.as_deref().unwrap_or("none"),
            job.attempts,
            job.last_outcome.as_deref().unwrap_or("-"),
            job.run_at.map_or("-".to_owned(), |at| at.to_string()),
        )?;
    }
    writeln!(out, "{} member(s)", ids.len())?;
    Ok(())
}

async fn show_member(
    ctx: &WorkerContext,
    id: &ProjectMemberId,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let member = load(ctx, id).await?;
    writeln!(out, "member          {id}")?;
    writeln!(out, "created         {}", member.created_at)?;
    writeln!(
        out,
        "open humans     token expires {}",
        member.open_humans.expires_at
    )?;
    match (&member.fitbit, &member.google_tokens) {
        (Some(account), tokens) => {
            writeln!(
                out,
                "fitbit          linked {}; time zone {}; {} scope(s) granted",
                account.connected_at,
                account.time_zone.as_deref().unwrap_or("unknown"),
                account.granted_scopes.len()
            )?;
            if let Some(tokens) = tokens {
                let refresh = tokens
                    .refresh_expires_at
                    .map_or("does not expire".to_owned(), |at| format!("expires {at}"));
                writeln!(
                    out,
                    "google token    expires {}; refresh token {refresh}",
                    tokens.expires_at
                )?;
            }
        }
        (None, _) => writeln!(out, "fitbit          not linked")?,
    }
    let intraday = match member.preferences.intraday {
        Some(resolution) => format!("{resolution:?}"),
        None => "off".to_owned(),
    };
    let earliest = member
        .preferences
        .earliest_date
        .map_or("whole history".to_owned(), |date| format!("from {date}"));
    writeln!(out, "preferences     intraday {intraday}; {earliest}")?;
    match member.sync.last_success_at {
        Some(at) => writeln!(
            out,
            "last sync       {at}, {} request(s)",
            member.sync.requests
        )?,
        None => writeln!(out, "last sync       never")?,
    }
    print_job(&ctx.queue.status(id).await?, out)?;
    let pending: Vec<String> = member
        .pending_periods
        .iter()
        .map(ToString::to_string)
        .collect();
    writeln!(
        out,
        "to publish      {}",
        if pending.is_empty() {
            "nothing".to_owned()
        } else {
            pending.join(", ")
        }
    )?;
    writeln!(out, "cursors")?;
    for (key, cursor) in &member.cursors {
        let day = |date: Option<jiff::civil::Date>| date.map_or("-".to_owned(), |d| d.to_string());
        writeln!(
            out,
            "  {:<40} {} .. {}{}",
            key.to_string(),
            day(cursor.oldest),
            day(cursor.newest),
            if cursor.complete { "  complete" } else { "" }
        )?;
    }
    Ok(())
}

fn print_job(job: &JobStatus, out: &mut dyn Write) -> std::io::Result<()> {
    let when = |at: Option<jiff::Timestamp>| at.map_or("-".to_owned(), |at| at.to_string());
    writeln!(
        out,
        "job             {}; run at {}; attempts {}",
        job.state.as_deref().unwrap_or("none"),
        when(job.run_at),
        job.attempts
    )?;
    writeln!(
        out,
        "last run        started {}, finished {}: {}",
        when(job.started_at),
        when(job.finished_at),
        job.last_outcome.as_deref().unwrap_or("-")
    )?;
    if let Some(message) = &job.message {
        writeln!(out, "last message    {message}")?;
    }
    Ok(())
}

async fn enqueue(
    ctx: &WorkerContext,
    members: &[ProjectMemberId],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    for member in members {
        let queued = ctx.queue.enqueue(member, jiff::Timestamp::now()).await?;
        writeln!(out, "{member}  {queued:?}")?;
    }
    writeln!(out, "{} member(s)", members.len())?;
    Ok(())
}

/// What refreshing one provider's token did.
enum Refresh {
    Fresh,
    Refreshed,
    Refused,
}

async fn refresh_tokens(
    ctx: &WorkerContext,
    all: bool,
    deauth: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut failures = 0;
    for id in ctx.members.member_ids().await? {
        let Some(mut member) = ctx.members.load(&id).await? else {
            continue;
        };
        let open_humans = refresh_one(ctx, &mut member, Provider::OpenHumans, all).await;
        if matches!(open_humans, Ok(Refresh::Refused)) && deauth {
            departure::forget_member(&ctx.members, &ctx.queue, &ctx.tokens, &id).await?;
            writeln!(
                out,
                "{id}  open humans refused the refresh: member dropped (a worker erases their staged files)"
            )?;
            continue;
        }
        let google = if member.google_tokens.is_some() {
            Some(refresh_one(ctx, &mut member, Provider::Google, all).await)
        } else {
            None
        };
        let google_dropped = deauth && matches!(google, Some(Ok(Refresh::Refused)));
        if google_dropped {
            ctx.members.disconnect_fitbit(&id, None).await?;
        }
        let mut line = format!("{id}  open humans {}", describe(&open_humans));
        if let Some(google) = &google {
            line.push_str(&format!("; google {}", describe(google)));
            if google_dropped {
                line.push_str(": Fitbit link dropped");
            }
        }
        failures += [
            Some(&open_humans),
            google.as_ref().filter(|_| !google_dropped),
        ]
        .into_iter()
        .flatten()
        .filter(|result| !matches!(result, Ok(Refresh::Fresh | Refresh::Refreshed)))
        .count();
        writeln!(out, "{line}")?;
    }
    if failures > 0 {
        bail!("{failures} token refresh(es) did not succeed");
    }
    Ok(())
}

async fn refresh_one(
    ctx: &WorkerContext,
    member: &mut Member,
    provider: Provider,
    all: bool,
) -> Result<Refresh, Error> {
    let expiry = |member: &Member| match provider {
        Provider::OpenHumans => Some(member.open_humans.expires_at),
        Provider::Google => member
            .google_tokens
            .as_ref()
            .map(|tokens| tokens.expires_at),
    };
    let before = expiry(member);
    let result = match provider {
        Provider::OpenHumans => ctx.tokens.open_humans_access_token(member, all).await,
        Provider::Google => ctx.tokens.google_access_token(member, all).await,
    };
    match result {
        Ok(_) if expiry(member) == before => Ok(Refresh::Fresh),
        Ok(_) => Ok(Refresh::Refreshed),
        Err(Error::GrantRevoked(_)) => Ok(Refresh::Refused),
        Err(error) => Err(error),
    }
}

fn describe(result: &Result<Refresh, Error>) -> String {
    match result {
        Ok(Refresh::Fresh) => "still valid".to_owned(),
        Ok(Refresh::Refreshed) => "refreshed".to_owned(),
        Ok(Refresh::Refused) => "refused the refresh (the member must connect again)".to_owned(),
        Err(error) => format!("failed: {}", oh_fitbit_core::error_chain(error)),
    }
}
