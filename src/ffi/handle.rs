//! The handle registry: what a C caller holds as `ptrace_dbg_process *` is not the address of
//! a Rust object but a tag, looked up here on every call. So a NULL, freed, forged or stale
//! pointer is recognised and gives `PTRACE_DBG_E_INVALID_HANDLE`, never a crash, and a freed
//! handle can never alias a later process.
//!
//! A handle value is [`TAG`] in bits 63..48 ORed with a 48-bit id. The tag makes the value a
//! non-canonical x86-64 address (bits 63..47 are not all equal), so no real pointer, whether
//! to the heap, stack or code, can ever equal a handle. The id is a counter that only grows
//! (never reused) XORed with a random salt chosen once per loaded copy of the library, so a
//! handle from another copy (say a static copy inside a plugin) is not accepted either.
//!
//! A handle works only in the process that created it: in a child the host forked, the
//! library's threads (one monitor per traced process) do not exist, so any call would wait
//! forever for them. Each entry remembers the pid that created it, and a lookup from another
//! pid fails at once with `PTRACE_DBG_E_INVALID_HANDLE` (issue 10). The current pid is cached
//! in a word the kernel zeroes in a forked child (`sys::fork`), so the check costs a load,
//! not a getpid per call.
//!
//! The registry lock is held only for the map operation, never across an engine call: the
//! `Arc` returned by [`Registry::get`] keeps the object alive while a call uses it, even if
//! another thread frees the handle meanwhile.

use super::codes::{PTRACE_DBG_E_INTERNAL, PTRACE_DBG_E_INVALID_HANDLE};
use super::error::Failure;
use once_cell::sync::Lazy;
use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Bits 63..48 of every handle ("PD"): bit 63 clear, bit 62 set, so never canonical.
const TAG: u64 = 0x5044 << ID_BITS;
/// Bits of the id below the tag.
const ID_BITS: u32 = 48;
/// Mask of the id bits.
const ID_MASK: u64 = (1 << ID_BITS) - 1;

/// This copy of the library's salt. RandomState is seeded from the OS's random source.
static SALT: Lazy<u64> = Lazy::new(|| RandomState::new().hash_one(std::process::id()) & ID_MASK);

/// The pid cache: a word that reads 0 in a forked child; None where the kernel lacks
/// MADV_WIPEONFORK (then every check asks getpid).
static PID_WORD: Lazy<Option<&'static AtomicI32>> =
    Lazy::new(|| crate::sys::fork::wipe_on_fork_word().ok());

/// This process's pid: from the cache, refilled after a fork.
fn current_pid() -> u32 {
    let Some(word) = *PID_WORD else {
        return std::process::id();
    };
    match word.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            word.store(pid as i32, Ordering::Relaxed);
            pid
        }
        pid => pid as u32,
    }
}

/// Handles of one kind: `T` is the Rust object, `H` the opaque C type the handle points to.
pub struct Registry<T, H> {
    /// What the handles name, for messages ("process").
    what: &'static str,
    state: Mutex<State<T>>,
    handle_type: PhantomData<fn() -> H>,
}

struct State<T> {
    /// Live objects by handle value, with the pid of the process that created each.
    live: BTreeMap<u64, (Arc<T>, u32)>,
    /// Ids handed out so far; the next id is this plus one.
    issued: u64,
}

impl<T, H> Registry<T, H> {
    /// An empty registry of handles to `what`; `const` so it can be a `static`.
    pub const fn new(what: &'static str) -> Self {
        Registry {
            what,
            state: Mutex::new(State { live: BTreeMap::new(), issued: 0 }),
            handle_type: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held except allocation, so the map is consistent
        // even when the lock is poisoned.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `value` and returns its new handle, never equal to any earlier one.
    pub fn insert(&self, value: Arc<T>) -> Result<*mut H, Failure> {
        let mut state = self.lock();
        if state.issued == ID_MASK {
            return Err(Failure::new(
                PTRACE_DBG_E_INTERNAL,
                format!("all {ID_MASK} {} handles have been used", self.what),
            ));
        }
        state.issued += 1;
        let handle = TAG | ((state.issued ^ *SALT) & ID_MASK);
        state.live.insert(handle, (value, current_pid()));
        Ok(handle as *mut H)
    }

    /// The object behind `handle`, or `PTRACE_DBG_E_INVALID_HANDLE`.
    pub fn get(&self, handle: *const H) -> Result<Arc<T>, Failure> {
        let key = self.key(handle)?;
        let state = self.lock();
        let (value, creator) = state.live.get(&key).ok_or_else(|| self.stale(key))?;
        self.same_process(key, *creator)?;
        Ok(Arc::clone(value))
    }

    /// Unregisters `handle` and returns its object; afterwards the handle is invalid forever.
    /// In a forked child the handle stays registered (the parent's copy of it is untouched
    /// anyway) and the call fails like `get`.
    pub fn remove(&self, handle: *const H) -> Result<Arc<T>, Failure> {
        let key = self.key(handle)?;
        let mut state = self.lock();
        let (_, creator) = state.live.get(&key).ok_or_else(|| self.stale(key))?;
        self.same_process(key, *creator)?;
        state.live.remove(&key).map(|(value, _)| value).ok_or_else(|| self.stale(key))
    }

    /// INVALID_HANDLE when this is not the process that created the handle (a forked child).
    fn same_process(&self, key: u64, creator: u32) -> Result<(), Failure> {
        let me = current_pid();
        if me == creator {
            Ok(())
        } else {
            Err(Failure::new(
                PTRACE_DBG_E_INVALID_HANDLE,
                format!(
                    "{} handle {key:#x} belongs to process {creator}, not to this process \
                     {me}: handles do not survive fork",
                    self.what
                ),
            ))
        }
    }

    /// The map key of `handle`, if it has the form of one of our handles.
    fn key(&self, handle: *const H) -> Result<u64, Failure> {
        let value = handle as u64;
        if value == 0 {
            Err(Failure::new(
                PTRACE_DBG_E_INVALID_HANDLE,
                format!("the {} handle is NULL", self.what),
            ))
        } else if value & !ID_MASK != TAG {
            Err(Failure::new(
                PTRACE_DBG_E_INVALID_HANDLE,
                format!("{value:#x} is not a {} handle", self.what),
            ))
        } else {
            Ok(value)
        }
    }

    fn stale(&self, key: u64) -> Failure {
        Failure::new(
            PTRACE_DBG_E_INVALID_HANDLE,
            format!("{} handle {key:#x} was freed or never issued", self.what),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for the opaque C type.
    struct Opaque;

    static DUMMIES: Registry<String, Opaque> = Registry::new("dummy");

    fn code_and_message<T>(result: Result<T, Failure>) -> (i32, String) {
        let failure = result.err().expect("an invalid handle was accepted");
        (failure.code, failure.message)
    }

    #[test]
    fn a_handle_finds_its_object_until_removed() {
        let handle = DUMMIES.insert(Arc::new("one".to_string())).unwrap();
        assert_eq!(*DUMMIES.get(handle).unwrap(), "one");
        assert_eq!(*DUMMIES.remove(handle).unwrap(), "one");
        let (code, message) = code_and_message(DUMMIES.get(handle));
        assert_eq!(code, PTRACE_DBG_E_INVALID_HANDLE);
        assert_eq!(message, format!("dummy handle {handle:p} was freed or never issued"));
        assert_eq!(code_and_message(DUMMIES.remove(handle)).0, PTRACE_DBG_E_INVALID_HANDLE);
    }

    #[test]
    fn handles_are_never_reused_and_never_canonical_addresses() {
        let registry: Registry<u32, Opaque> = Registry::new("dummy");
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000 {
            let handle = registry.insert(Arc::new(i)).unwrap();
            let top = handle as u64 >> 47;
            assert!(top != 0 && top != 0x1ffff, "{handle:p} is a canonical address");
            assert!(seen.insert(handle as u64), "{handle:p} issued twice");
            registry.remove(handle).unwrap();
        }
    }

    #[test]
    fn null_forged_and_foreign_pointers_are_invalid_handles() {
        let registry: Registry<u32, Opaque> = Registry::new("dummy");
        let live = registry.insert(Arc::new(7)).unwrap();
        let heap = Box::into_raw(Box::new(Opaque));
        let mut other_copy_id = live as u64 ^ 1;
        if other_copy_id == live as u64 {
            other_copy_id ^= 2;
        }
        let cases: [(*const Opaque, &str); 5] = [
            (std::ptr::null(), "the dummy handle is NULL"),
            (1 as *const Opaque, "0x1 is not a dummy handle"),
            (0xdeadbeef as *const Opaque, "0xdeadbeef is not a dummy handle"),
            (heap, "is not a dummy handle"),
            (other_copy_id as *const Opaque, "was freed or never issued"),
        ];
        for (pointer, expected) in cases {
            let (code, message) = code_and_message(registry.get(pointer));
            assert_eq!(code, PTRACE_DBG_E_INVALID_HANDLE, "{pointer:p}");
            assert!(message.ends_with(expected), "{pointer:p}: {message}");
        }
        assert_eq!(*registry.get(live).unwrap(), 7);
        // SAFETY: `heap` came from Box::into_raw above and was only compared, never freed.
        drop(unsafe { Box::from_raw(heap) });
    }

    #[test]
    fn the_pid_cache_is_this_process_pid() {
        assert_eq!(current_pid(), std::process::id());
        assert_eq!(current_pid(), std::process::id()); // from the cache this time
    }

    #[test]
    fn an_object_outlives_its_handle_while_a_call_holds_it() {
        let registry: Registry<String, Opaque> = Registry::new("dummy");
        let handle = registry.insert(Arc::new("busy".to_string())).unwrap();
        let in_use = registry.get(handle).unwrap();
        registry.remove(handle).unwrap();
        assert_eq!(*in_use, "busy");
    }
}
