//! Every Redis key the queue uses, in one place.

#[derive(Clone, Debug)]
pub(crate) struct QueueKeys {
    pub ready: String,
    pub scheduled: String,
    pub leases: String,
    pub dead: String,
    /// Signals for idle workers (`work`, never a member id: a member who leaves leaves no
    /// trace in it), capped at 100.
    pub wake: String,
    pub job_prefix: String,
    /// Set once the queue was built (or rebuilt) from the database: a Redis without it
    /// restarted empty, or was flushed, and is rebuilt.
    pub intact: String,
    /// Held by the one worker rebuilding the queue.
    pub rebuilding: String,
}

impl QueueKeys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            ready: format!("{prefix}queue:ready"),
            scheduled: format!("{prefix}queue:scheduled"),
            leases: format!("{prefix}queue:leases"),
            dead: format!("{prefix}queue:dead"),
            wake: format!("{prefix}queue:wake"),
            job_prefix: format!("{prefix}job:"),
            intact: format!("{prefix}queue:intact"),
            rebuilding: format!("{prefix}queue:rebuilding"),
        }
    }

    pub(super) fn job(&self, member: &str) -> String {
        format!("{}{member}", self.job_prefix)
    }
}
