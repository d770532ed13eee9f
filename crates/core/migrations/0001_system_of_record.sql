-- The system of record: every fact about a member that cannot be recomputed. Redis holds only
-- what is rebuilt from these tables (the queue, leases, locks, rate limits), and staging only
-- what is restored from the member's files on Open Humans.
--
-- Member ids are Open Humans project member ids (8 or 16 digits). Sealed values are
-- XChaCha20-Poly1305 ciphertexts (`crypto.rs`) bound to the member id and their purpose.

CREATE TABLE members (
    id                  text PRIMARY KEY CHECK (id ~ '^([0-9]{8}|[0-9]{16})$'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- What the member chose to import.
    intraday_resolution text CHECK (intraday_resolution IN
                            ('raw', 'one_minute', 'five_minutes', 'fifteen_minutes')),
    earliest_date       date,
    left_out            text[] NOT NULL DEFAULT '{}',
    -- The last successful sync.
    last_success_at     timestamptz,
    synced_first_day    date,
    synced_last_day     date,
    sync_requests       integer NOT NULL DEFAULT 0,
    -- The dashboard's summary of the last 30 days (health data, hence sealed).
    sealed_recent_days  text,
    -- Names the member's current staged copy; the same value is in a marker object in
    -- staging, so a staging store that lost the member's objects (a dyno restart, an emptied
    -- bucket) is recognised before anything is built from it.
    staging_generation  text,
    -- A staged chunk was found unreadable or a file would have shrunk: the next run restores
    -- staging from the member's files first.
    repair_requested    boolean NOT NULL DEFAULT false
);

-- Every write of a token pair sets a new revision, so a refresh stores its result only over the
-- tokens it refreshed (a reconnect meanwhile wins).
CREATE TABLE tokens (
    member_id text NOT NULL REFERENCES members ON DELETE CASCADE,
    provider  text NOT NULL CHECK (provider IN ('open_humans', 'google')),
    sealed    text NOT NULL,
    revision  bigint NOT NULL,
    PRIMARY KEY (member_id, provider)
);

-- The member's Fitbit account as the Google Health API describes it; gone on disconnect.
CREATE TABLE fitbit_accounts (
    member_id        text PRIMARY KEY REFERENCES members ON DELETE CASCADE,
    health_user_id   text NOT NULL,
    legacy_user_id   text,
    time_zone        text,
    membership_start date,
    granted_scopes   text[] NOT NULL,
    connected_at     timestamptz NOT NULL,
    via_own_client   boolean NOT NULL,
    -- The end of a time-limited grant the member was already told about.
    expiry_announced timestamptz
);

-- The member's own Google OAuth client (for intraday data), its secret sealed.
CREATE TABLE own_clients (
    member_id     text PRIMARY KEY REFERENCES members ON DELETE CASCADE,
    client_id     text NOT NULL,
    sealed_secret text NOT NULL
);

-- How far each data type of each tier has been imported: every civil day from `oldest` to
-- `newest` is staged.
CREATE TABLE cursors (
    member_id  text NOT NULL REFERENCES members ON DELETE CASCADE,
    tier       text NOT NULL CHECK (tier IN ('standard', 'intraday')),
    data_type  text NOT NULL,
    oldest     date,
    newest     date,
    complete   boolean NOT NULL,
    resolution text CHECK (resolution IN ('raw', 'one_minute', 'five_minutes', 'fifteen_minutes')),
    PRIMARY KEY (member_id, tier, data_type)
);

-- Staged periods (a year of daily data, a month of intraday data, by their first day) whose
-- files have not been published since they changed.
CREATE TABLE pending_periods (
    member_id    text NOT NULL REFERENCES members ON DELETE CASCADE,
    tier         text NOT NULL CHECK (tier IN ('standard', 'intraday')),
    period_start date NOT NULL,
    PRIMARY KEY (member_id, tier, period_start)
);

-- Which chunks staging holds (one per tier, data type and period with data): what tells a
-- chunk that went missing from one that never had anything to hold.
CREATE TABLE staged_chunks (
    member_id    text NOT NULL REFERENCES members ON DELETE CASCADE,
    tier         text NOT NULL CHECK (tier IN ('standard', 'intraday')),
    data_type    text NOT NULL,
    period_start date NOT NULL,
    PRIMARY KEY (member_id, tier, data_type, period_start)
);

-- Every file this service published on the member's Open Humans account (the current one of
-- each name), with what it holds: staging is restored from these, and a new version must not
-- hold fewer records than the one it replaces.
CREATE TABLE published_files (
    member_id           text NOT NULL REFERENCES members ON DELETE CASCADE,
    file_name           text NOT NULL,
    open_humans_file_id bigint NOT NULL,
    md5                 text NOT NULL,
    size_bytes          bigint NOT NULL,
    first_date          date,
    last_date           date,
    published_at        timestamptz NOT NULL,
    PRIMARY KEY (member_id, file_name)
);

-- Records per data type and period (year or month) in a published file.
CREATE TABLE published_counts (
    member_id    text NOT NULL,
    file_name    text NOT NULL,
    data_type    text NOT NULL,
    period_start date NOT NULL,
    records      integer NOT NULL,
    PRIMARY KEY (member_id, file_name, data_type, period_start),
    FOREIGN KEY (member_id, file_name) REFERENCES published_files ON DELETE CASCADE
);

-- Each member's sync job as the queue last left it: what a Redis that restarted empty is
-- rebuilt from. Not tied to `members`: the job of a member who left runs once more, to erase.
-- `lease_token` is the fencing token of the run that holds the member: every write of a run
-- (here and in staging) checks it, so a run whose lease was handed on stops at once.
CREATE TABLE sync_jobs (
    member_id    text PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('waiting', 'idle', 'dead')),
    run_at       timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_outcome text,
    message      text,
    finished_at  timestamptz,
    lease_token  text
);

CREATE INDEX sync_jobs_due ON sync_jobs (run_at) WHERE state = 'waiting';

-- Erasures asked for and not yet done: worked until done, and never weakened by a later, weaker
-- request. A member who left keeps a sealed copy of their Open Humans tokens here while the
-- deletion of their files is still to do.
CREATE TABLE erasure_requests (
    member_id                 text PRIMARY KEY,
    also_open_humans_files    boolean NOT NULL,
    sealed_open_humans_tokens text,
    requested_at              timestamptz NOT NULL DEFAULT now()
);

-- What this deployment learned about Google's undocumented behaviour.
CREATE TABLE google_dialect (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    learned_at timestamptz NOT NULL DEFAULT now()
);
