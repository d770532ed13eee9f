//! How the process asks glibc's allocator for memory.
//!
//! glibc serves a block of 128 KiB or more with its own `mmap`, and gives it back to the system
//! when it is freed; but each such free raises that threshold to the freed block's size (up to
//! 32 MiB). After the first month of heart-rate samples is freed, the next month's buffers — tens
//! of megabytes, grown by doubling — come from the heap instead, and the holes they leave keep
//! the worker's resident memory far above what it uses. A fixed threshold of 8 MiB keeps those
//! buffers in their own mappings, returned to the system when freed, while the few-megabyte
//! response bodies of every `list` page keep reusing heap memory (a lower threshold maps and
//! faults in fresh pages for each of them: a third more CPU in the kernel). Measured with
//! `oh-fitbit bench import`: peak resident memory 132 MB (1 year) and 151 MB (10 years) with
//! glibc's default, 84 MB and 98 MB with this.

/// Blocks of at least this size get their own mapping.
const MMAP_THRESHOLD_BYTES: i32 = 8 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn keep_large_buffers_mapped() {
    // SAFETY: mallopt only sets one of malloc's tuning parameters, under malloc's own lock; it
    // takes no pointers and leaves every block already allocated valid.
    let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
    if applied != 1 {
        tracing::warn!("glibc refused the mmap threshold; large buffers may stay resident");
    }
}

/// Other allocators return large blocks to the system without being asked.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_large_buffers_mapped() {}
