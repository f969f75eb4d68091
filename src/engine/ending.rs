//! Calls that end a handle's tracing (detach, kill, and free, which does one of them) while
//! other host threads are blocked in wait_stop, stop or step on the same process (issue 10).
//!
//! Detach stops the process before it lets go, and a kill can pass through exit stops. A
//! waiter in another thread would see that transient stop and return OK (with trigger 0) for a
//! process that is about to be detached or is dead. So an ending call announces itself here
//! before it starts, and the public blocking calls, when they would return OK while an ending
//! call is under way, first wait for it to finish and then report what it left: the process
//! exited (EXITED), was detached (BAD_STATE), or is still traced (the ending call failed, the
//! OK stands).

use super::monitor::Shared;
use super::tracer::RunState;
use super::{Error, Result};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a blocked call waits for an ending call to finish. Detach and kill each give up
/// after their own 30 s; this only bounds the wait should one never finish.
const ENDING_WAIT: Duration = Duration::from_secs(120);

/// The number of ending calls under way, and a condition variable signalled when one finishes.
#[derive(Default)]
pub struct Ending {
    under_way: Mutex<u32>,
    finished: Condvar,
}

/// Held by an ending call for its whole duration.
pub struct EndingGuard<'a>(&'a Ending);

impl Drop for EndingGuard<'_> {
    fn drop(&mut self) {
        let mut n = self.0.under_way.lock().unwrap_or_else(PoisonError::into_inner);
        *n -= 1;
        drop(n);
        self.0.finished.notify_all();
    }
}

impl Ending {
    /// Announces an ending call (detach or kill); it lasts until the guard is dropped.
    pub fn begin(&self) -> EndingGuard<'_> {
        *self.under_way.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        EndingGuard(self)
    }

    /// The result a blocking call (wait_stop, stop, step) returns: `result` itself, unless it
    /// is OK while an ending call is under way; then, once that call finished, EXITED or
    /// BAD_STATE if the process is no longer traced. A caller with a deadline (wait_stop with
    /// a timeout, 0 for a poll) waits no longer than that and gets TIMEOUT.
    pub fn settle<T>(
        &self,
        shared: &Shared,
        result: Result<T>,
        caller_deadline: Option<Instant>,
    ) -> Result<T> {
        let value = result?;
        let limit = Instant::now() + ENDING_WAIT;
        let deadline = caller_deadline.map_or(limit, |d| d.min(limit));
        let mut n = self.under_way.lock().unwrap_or_else(PoisonError::into_inner);
        while *n > 0 {
            let now = Instant::now();
            if now >= deadline {
                let busy = "another thread is detaching or killing the process";
                return Err(if deadline < limit {
                    Error::Timeout(busy.into())
                } else {
                    Error::BadState(busy.into())
                });
            }
            n = self
                .finished
                .wait_timeout(n, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(n);
        match shared.read(|s| s.run) {
            RunState::Exited => Err(Error::Exited),
            RunState::Detached => Err(Error::BadState("the process was detached".into())),
            RunState::Running | RunState::Stopped => Ok(value),
        }
    }
}
