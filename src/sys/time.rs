//! Clocks, and the CPU the calling thread runs on.

/// CLOCK_MONOTONIC in nanoseconds (the clock of `ptrace_dbg_record.time_ns`, comparable with
/// the tracee's own `clock_gettime(CLOCK_MONOTONIC)`).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU the calling thread is running on (`sched_getcpu`, answered from the rseq area or
/// the vDSO, no system call on current kernels); -1 if unknown.
pub fn current_cpu() -> i32 {
    // SAFETY: sched_getcpu takes no arguments and only reads per-thread kernel data.
    unsafe { libc::sched_getcpu() }
}
