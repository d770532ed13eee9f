-- A data type whose reading failed for a reason of its own (a request Google refused, an
-- answer that could not be read, a scope Google says the member no longer shares), so the
-- member's other types went on without it. Cleared
-- when the type is read again; until then the file's coverage and the dashboard say why.
CREATE TABLE type_failures (
    member_id       text NOT NULL REFERENCES members ON DELETE CASCADE,
    tier            text NOT NULL CHECK (tier IN ('standard', 'intraday')),
    data_type       text NOT NULL,
    -- The civil days whose reading failed, both included.
    first_day       date NOT NULL,
    last_day        date NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('refused', 'unreadable', 'not_granted')),
    -- What went wrong, for operators; Google's words, escaped and cut to a line.
    detail          text NOT NULL,
    first_failed_at timestamptz NOT NULL,
    attempts        integer NOT NULL CHECK (attempts > 0),
    retry_after     timestamptz NOT NULL,
    PRIMARY KEY (member_id, tier, data_type)
);

-- The dialect is now learned per method and data type from answers that held data, and each
-- entry is checked again once it is a day old. The answers kept so far were learned
-- deployment-wide, some from a single error: none of them is evidence.
DELETE FROM google_dialect;
-- In how many runs (members or syncs) the variant was seen working: one run's answer changes
-- nothing for the others.
ALTER TABLE google_dialect ADD COLUMN confirmations integer NOT NULL DEFAULT 1;
