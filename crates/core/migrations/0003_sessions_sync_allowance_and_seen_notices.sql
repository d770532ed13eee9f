-- A member's sessions are valid while their cookie names this generation of this record:
-- signing out everywhere and disconnecting advance it, and a member who left and joined again
-- has a new record (a new created_at), so no cookie saved before outlives either. Existing
-- sessions end once, at this migration.
ALTER TABLE members ADD COLUMN session_generation integer NOT NULL DEFAULT 0;
-- The syncs a member starts themselves (Sync now, saving settings, a new consent, signing in
-- again) each spend Google quota: together they start at most one until this instant. It goes
-- with the member's record when they leave.
ALTER TABLE members ADD COLUMN syncs_allowed_from timestamptz;
-- Deauthorisation notices acted on, by the SHA-256 of their body, until they are too old to be
-- accepted anyway: a captured notice cannot be replayed. Kept here rather than in Redis so a
-- departure needs only the system of record.
CREATE TABLE seen_notices (
    digest     bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
