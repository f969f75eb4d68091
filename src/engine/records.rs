//! The record buffer of tracepoint hits: filled by the monitor thread, emptied by any host
//! thread (`Process::read_records`), never blocking either.
//!
//! It is bounded (`capacity`, settable): when it is full, a thread that hits a tracepoint still
//! has its record added (so nothing is ever lost), but it is then held in its stop ("parked",
//! see `tracer::tracepoints`) until a reader makes room. The buffer can thus exceed its
//! capacity by at most one record per thread of the process. The time threads spent parked is
//! counted for `stats`.
//!
//! The buffer belongs to the `Process`, not to the monitor: records stay readable after the
//! process exited, was detached or killed, until the handle is freed.

use super::monitor::Shared;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The most memory bytes a record can carry.
pub const DATA_MAX: usize = 64;

/// The default capacity of a process's buffer.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// The largest capacity a caller may set (a record is about 320 bytes).
pub const MAX_CAPACITY: usize = 1 << 22;

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum RecordKind {
    /// A thread executed the instruction at a tracepoint.
    Tracepoint = 1,
    /// A traced system call's entry (`syscalls::RECORD`): `id` is its number.
    SyscallEntry = 2,
    /// A traced system call's exit: `id` is its number, `regs.rax` its result.
    SyscallExit = 3,
}

/// One hit, as captured by the monitor thread.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    pub kind: RecordKind,
    pub tid: i32,
    /// The tracepoint's id.
    pub id: i32,
    /// CLOCK_MONOTONIC at the capture, in nanoseconds.
    pub time_ns: u64,
    /// The tracepoint's address (also `regs.rip`).
    pub pc: u64,
    /// The thread's registers as they were at the hit, before the instruction ran.
    pub regs: libc::user_regs_struct,
    /// Captured memory (see `Tracer::set_tracepoint_capture`): `data_len` bytes are valid;
    /// fewer than asked when the range ran into unmapped memory.
    pub data: [u8; DATA_MAX],
    pub data_len: u32,
}

impl Record {
    /// A record with every field zero (for buffers to read into).
    pub const EMPTY: Record = Record {
        kind: RecordKind::Tracepoint,
        tid: 0,
        id: 0,
        time_ns: 0,
        pc: 0,
        regs: crate::sys::arch::ZERO_REGS,
        data: [0; DATA_MAX],
        data_len: 0,
    };
}

/// Counters of the buffer, for callers and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Records ever added.
    pub recorded: u64,
    /// Records waiting to be read.
    pub pending: u64,
    /// How many times a thread was held because the buffer was full.
    pub waits: u64,
    /// The total time threads were held, in nanoseconds.
    pub wait_ns: u64,
    /// The capacity.
    pub capacity: u64,
}

struct Inner {
    buf: VecDeque<Record>,
    capacity: usize,
    stats: RecordStats,
    /// Threads held because the buffer was full.
    parked: usize,
}

/// The buffer, shared by the monitor and the API threads.
pub struct Records {
    inner: Mutex<Inner>,
    shared: Arc<Shared>,
    /// A reader made room while threads were parked and has asked the monitor to let them go;
    /// further reads need not ask again until it has.
    unpark_asked: AtomicBool,
    /// A push made the buffer non-empty since the last `flush_signal`: the event fd is to be
    /// made readable. Deferred so that the monitor lets the hitting thread go first, and never
    /// writes the event fd (waking a reader) while it holds the buffer's lock.
    unsignalled: AtomicBool,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Records {
    pub(crate) fn new(shared: Arc<Shared>) -> Records {
        Records {
            inner: Mutex::new(Inner {
                buf: VecDeque::new(),
                capacity: DEFAULT_CAPACITY,
                stats: RecordStats::default(),
                parked: 0,
            }),
            shared,
            unpark_asked: AtomicBool::new(false),
            unsignalled: AtomicBool::new(false),
        }
    }

    /// Adds a record (monitor thread). Returns whether the buffer is now at or over capacity:
    /// the hitting thread must then be parked.
    ///
    /// When the event fd becomes readable depends on the CPUs the process may use. With one
    /// to spare, at once: the reader runs on another CPU while the monitor finishes the hit
    /// (and a busy reader's CPU is not where the scheduler puts the resumed thread, which
    /// stays next to the monitor). On one CPU, at the monitor's next `flush_signal` (when it
    /// has handled the events at hand, at most `SWEEP_BATCH`, and before it sleeps): a reader
    /// woken at once would preempt the monitor in the middle of the hit, so the reader takes
    /// records in batches instead of one per hit.
    pub(crate) fn push(&self, r: Record) -> bool {
        let full = {
            let mut g = lock(&self.inner);
            g.buf.push_back(r);
            g.stats.recorded += 1;
            if g.buf.len() == 1 {
                self.unsignalled.store(true, Ordering::Relaxed);
            }
            g.buf.len() > g.capacity
        };
        if super::monitor::may_spin() {
            self.flush_signal();
        }
        full
    }

    /// Makes the event fd readable if records wait and a push since the last call found the
    /// buffer empty (monitor thread, after the hitting thread was let go).
    ///
    /// The fd is written with neither the buffer's lock held nor, in the usual case, any reader
    /// able to need it: a reader woken by the write (on one CPU it runs at once) takes the
    /// buffer without waiting for us. A reader that emptied the buffer between the check and
    /// the write left the fd unreadable; the second check under the lock puts that right, so
    /// the fd is readable exactly while records wait once this returns.
    pub(crate) fn flush_signal(&self) {
        if !self.unsignalled.swap(false, Ordering::Relaxed) {
            return;
        }
        if lock(&self.inner).buf.is_empty() {
            return;
        }
        self.shared.set_records_waiting(true);
        let g = lock(&self.inner);
        if g.buf.is_empty() {
            self.shared.set_records_waiting(false);
        }
    }

    /// Whether the buffer has room for another record without exceeding its capacity.
    pub(crate) fn has_room(&self) -> bool {
        let g = lock(&self.inner);
        g.buf.len() <= g.capacity
    }

    /// A thread was parked (monitor thread).
    pub(crate) fn parked(&self) {
        let mut g = lock(&self.inner);
        g.parked += 1;
        g.stats.waits += 1;
    }

    /// A parked thread was let go after `waited_ns` (monitor thread).
    pub(crate) fn unparked(&self, waited_ns: u64) {
        let mut g = lock(&self.inner);
        g.parked = g.parked.saturating_sub(1);
        g.stats.wait_ns += waited_ns;
    }

    /// Every parked thread is gone or released (exit, detach, kill, exec).
    pub(crate) fn none_parked(&self, waited_ns: u64) {
        let mut g = lock(&self.inner);
        g.parked = 0;
        g.stats.wait_ns += waited_ns;
    }

    /// The monitor served the unpark request.
    pub(crate) fn unpark_served(&self) {
        self.unpark_asked.store(false, Ordering::Release);
    }

    /// Moves up to `out.len()` records, oldest first, into `out`; returns how many. Any thread;
    /// never blocks on the tracee. When threads are parked and this made room, the monitor is
    /// asked (without waiting for it) to let them go on.
    pub fn take(&self, out: &mut [Record]) -> usize {
        let mut g = lock(&self.inner);
        let n = out.len().min(g.buf.len());
        for (slot, r) in out.iter_mut().zip(g.buf.drain(..n)) {
            *slot = r;
        }
        if n > 0 && g.buf.is_empty() {
            self.shared.set_records_waiting(false);
        }
        let wake = n > 0 && g.parked > 0 && g.buf.len() <= g.capacity;
        drop(g);
        if wake && !self.unpark_asked.swap(true, Ordering::AcqRel) {
            self.shared.post(Box::new(|t| t.unpark_tracepoint_threads()));
        }
        n
    }

    /// Sets the capacity (1 to `MAX_CAPACITY`). Records already waiting are kept; a smaller
    /// capacity only makes threads wait sooner.
    pub fn set_capacity(&self, capacity: usize) {
        let grew = {
            let mut g = lock(&self.inner);
            let grew = capacity > g.capacity && g.parked > 0;
            g.capacity = capacity;
            grew
        };
        if grew && !self.unpark_asked.swap(true, Ordering::AcqRel) {
            self.shared.post(Box::new(|t| t.unpark_tracepoint_threads()));
        }
    }

    /// The counters.
    pub fn stats(&self) -> RecordStats {
        let g = lock(&self.inner);
        RecordStats { pending: g.buf.len() as u64, capacity: g.capacity as u64, ..g.stats }
    }
}
