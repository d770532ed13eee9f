//! This process's CPU time and peak memory, read from `/proc` (Linux), so the benchmark needs
//! no allocator hooks and measures the worker exactly as it runs in production.

use std::time::Duration;

use anyhow::Context;

/// The kernel reports CPU time in clock ticks of `USER_HZ`, which Linux fixes at 100 for every
/// user-space ABI.
const TICKS_PER_SECOND: u64 = 100;

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Usage {
    /// User plus system CPU time of every thread so far.
    pub cpu: Duration,
    /// The part of `cpu` spent in the kernel (socket reads, staging writes, page faults).
    pub system: Duration,
    /// The peak resident set size so far (`VmHWM`), in bytes.
    pub peak_rss_bytes: u64,
}

pub(super) fn of_this_process() -> anyhow::Result<Usage> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // start at field 3, so utime and stime (fields 14 and 15) are the 12th and 13th of them.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc/self/stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|field| field.parse().ok())
            .context("unexpected /proc/self/stat")
    };
    let (user_ticks, system_ticks) = (ticks(11)?, ticks(12)?);
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let peak_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(Usage {
        cpu: Duration::from_millis((user_ticks + system_ticks) * 1000 / TICKS_PER_SECOND),
        system: Duration::from_millis(system_ticks * 1000 / TICKS_PER_SECOND),
        peak_rss_bytes: peak_kib * 1024,
    })
}
