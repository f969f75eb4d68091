/*
 * ptrace_dbg: trace and control Linux processes from C, the way a debugger does.
 *
 * Conventions:
 * - Functions that can fail return int: PTRACE_DBG_OK (0) or a negative PTRACE_DBG_E_* code.
 *   Out-parameters are written only on success. ptrace_dbg_strerror(code) gives the code's
 *   fixed text; ptrace_dbg_last_error() the detail of this thread's last failure.
 * - Every function may be called from any thread, concurrently.
 * - Strings returned as const char * belong to the library; only processes are freed.
 *
 * Host rules. The library installs no signal handler, changes no signal mask, and never reaps
 * a child it did not start or attach. The reverse cannot be enforced: a host that calls
 * waitpid(-1, ...) or wait() from any thread steals the library's tracee events (and may reap
 * its traced processes), and traced processes then hang or vanish. Wait for your own children
 * by their pid.
 *
 * Logging: silent unless PTRACE_DBG_LOG=trace (or debug) is set in the environment, which
 * makes the library write its trace lines to stderr.
 */

#ifndef PTRACE_DBG_H
#define PTRACE_DBG_H

/* Generated from src/ffi/ by build.rs with cbindgen: do not edit. `make` rewrites it. */

#include <stddef.h>
#include <stdint.h>

/** The version of the header; ptrace_dbg_version() gives the loaded library's. */
#define PTRACE_DBG_VERSION_MAJOR 0
#define PTRACE_DBG_VERSION_MINOR 1
#define PTRACE_DBG_VERSION_PATCH 0


/**
 * Success.
 */
#define PTRACE_DBG_OK 0

/**
 * An argument is unusable: a NULL pointer, a bad length, an unknown flag bit or enum value,
 * an index out of range. `ptrace_dbg_last_error()` names the argument.
 */
#define PTRACE_DBG_E_INVALID_ARGUMENT -1

/**
 * The process handle is NULL, was freed, or never was a handle.
 */
#define PTRACE_DBG_E_INVALID_HANDLE -2

/**
 * The process or thread is in the wrong state for the call (e.g. registers of a running
 * thread).
 */
#define PTRACE_DBG_E_BAD_STATE -3

/**
 * The thread id is not a live thread of the process.
 */
#define PTRACE_DBG_E_NO_SUCH_THREAD -4

/**
 * A breakpoint is already set at that address.
 */
#define PTRACE_DBG_E_BREAKPOINT_EXISTS -5

/**
 * No breakpoint is set at that address.
 */
#define PTRACE_DBG_E_NO_BREAKPOINT -6

/**
 * The kernel refused (EPERM/EACCES): ptrace_scope, missing capabilities, another tracer.
 */
#define PTRACE_DBG_E_PERMISSION -7

/**
 * The process does not exist.
 */
#define PTRACE_DBG_E_NO_SUCH_PROCESS -8

/**
 * A wait ran out of time.
 */
#define PTRACE_DBG_E_TIMEOUT -9

/**
 * The process has exited; only `ptrace_dbg_exit_status` still answers.
 */
#define PTRACE_DBG_E_EXITED -10

/**
 * Tracee memory is not accessible at the address.
 */
#define PTRACE_DBG_E_FAULT -11

/**
 * The caller's buffer is too small; the call reports the size needed.
 */
#define PTRACE_DBG_E_BUFFER_TOO_SMALL -12

/**
 * Any other failing system call; `ptrace_dbg_last_error()` names the call and errno.
 */
#define PTRACE_DBG_E_OS -13

/**
 * A bug in the library caught at the boundary (e.g. a panic); the host is unharmed.
 */
#define PTRACE_DBG_E_INTERNAL -14

/**
 * Launch flag: run the program with address-space randomization off (`personality`
 * `ADDR_NO_RANDOMIZE`), so addresses repeat from run to run.
 */
#define PTRACE_DBG_LAUNCH_DISABLE_ASLR 1

/**
 * Thread state: running.
 */
#define PTRACE_DBG_STATE_RUNNING 0

/**
 * Thread state: executing one instruction for `ptrace_dbg_step` or a step over a breakpoint.
 */
#define PTRACE_DBG_STATE_SINGLE_STEPPING 1

/**
 * Thread state: asked to stop, the stop not yet reported.
 */
#define PTRACE_DBG_STATE_STOPPING 2

/**
 * Thread state: stopped by the library (stop-all, attach, after a step).
 */
#define PTRACE_DBG_STATE_STOPPED 3

/**
 * Thread state: stopped at a breakpoint.
 */
#define PTRACE_DBG_STATE_STOPPED_BREAKPOINT 4

/**
 * Thread state: stopped by a signal, which `ptrace_dbg_continue` delivers.
 */
#define PTRACE_DBG_STATE_STOPPED_SIGNAL 5

/**
 * Thread state: stopped after creating a thread.
 */
#define PTRACE_DBG_STATE_STOPPED_THREAD_CREATE 6

/**
 * Thread state: stopped on its way out (its registers and memory are still readable).
 */
#define PTRACE_DBG_STATE_STOPPED_EXITING 7

/**
 * Thread state: exiting, not yet reaped.
 */
#define PTRACE_DBG_STATE_EXITING 8

/**
 * Thread state: gone.
 */
#define PTRACE_DBG_STATE_EXITED 9

/**
 * Thread state: no longer traced.
 */
#define PTRACE_DBG_STATE_DETACHED 10

/**
 * Stop cause: stopped by the library (stop-all, attach, launch, a step).
 */
#define PTRACE_DBG_CAUSE_STOPPED 0

/**
 * Stop cause: hit a breakpoint; `pc` is its address.
 */
#define PTRACE_DBG_CAUSE_BREAKPOINT 1

/**
 * Stop cause: got a signal; `signal` is the pending signal.
 */
#define PTRACE_DBG_CAUSE_SIGNAL 2

/**
 * Stop cause: created a thread; `new_tid` is the new thread.
 */
#define PTRACE_DBG_CAUSE_THREAD_CREATE 3

/**
 * Stop cause: exiting; `exit_status` (or -1) and `signal` (the terminating signal, or 0).
 */
#define PTRACE_DBG_CAUSE_THREAD_EXIT 4

/**
 * Stop cause: called exec; the process now runs the new program.
 */
#define PTRACE_DBG_CAUSE_EXEC 5

/**
 * An opaque handle to a traced process, returned by `ptrace_dbg_attach` or
 * `ptrace_dbg_launch` and released with `ptrace_dbg_process_free`.
 *
 * It is not a pointer to memory: never dereference it. Any function given a NULL, freed or
 * made-up handle returns `PTRACE_DBG_E_INVALID_HANDLE`.
 */
typedef struct ptrace_dbg_process ptrace_dbg_process;

/**
 * How `ptrace_dbg_launch` starts a program. Fill it with `ptrace_dbg_launch_options_init`
 * first, then change what you need, so fields added later get their defaults.
 */
typedef struct ptrace_dbg_launch_options {
    /**
     * Working directory of the new process; NULL inherits the host's.
     */
    const char *cwd;
    /**
     * File descriptor the new process gets as its stdin; -1 inherits the host's.
     */
    int32_t stdin_fd;
    /**
     * File descriptor the new process gets as its stdout; -1 inherits the host's.
     */
    int32_t stdout_fd;
    /**
     * File descriptor the new process gets as its stderr; -1 inherits the host's.
     */
    int32_t stderr_fd;
    /**
     * `PTRACE_DBG_LAUNCH_*` bits ORed together.
     */
    uint32_t flags;
} ptrace_dbg_launch_options;

/**
 * The x86-64 general registers of one thread: the kernel's `user_regs_struct`, same order
 * and names. Index `i` of `ptrace_dbg_reg_name` is the `i`-th field.
 */
typedef struct ptrace_dbg_regs {
    uint64_t r15;
    uint64_t r14;
    uint64_t r13;
    uint64_t r12;
    uint64_t rbp;
    uint64_t rbx;
    uint64_t r11;
    uint64_t r10;
    uint64_t r9;
    uint64_t r8;
    uint64_t rax;
    uint64_t rcx;
    uint64_t rdx;
    uint64_t rsi;
    uint64_t rdi;
    uint64_t orig_rax;
    uint64_t rip;
    uint64_t cs;
    uint64_t eflags;
    uint64_t rsp;
    uint64_t ss;
    uint64_t fs_base;
    uint64_t gs_base;
    uint64_t ds;
    uint64_t es;
    uint64_t fs;
    uint64_t gs;
} ptrace_dbg_regs;

/**
 * Why a stopped thread is stopped, as `ptrace_dbg_stop_cause` reports it. Fields that do not
 * apply to `kind` are 0.
 */
typedef struct ptrace_dbg_cause {
    /**
     * One of `PTRACE_DBG_CAUSE_*`.
     */
    int32_t kind;
    /**
     * `SIGNAL`: the pending signal; `THREAD_EXIT`: the terminating signal or 0.
     */
    int32_t signal;
    /**
     * `THREAD_CREATE`: the new thread's id.
     */
    int32_t new_tid;
    /**
     * `THREAD_EXIT`: the exit status, or -1 when killed by a signal.
     */
    int32_t exit_status;
    /**
     * `BREAKPOINT`: the breakpoint's address.
     */
    uint64_t pc;
} ptrace_dbg_cause;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * A fixed, static, human-readable text for a result code (`"invalid argument"`, ...).
 *
 * Callable any time from any thread; never fails. An unknown code gives a generic text.
 * The string is static: never free it.
 */
const char *ptrace_dbg_strerror(int code);

/**
 * What the last failing call on this thread said: the operation, the system call and its
 * errno text where there was one. `""` if no call on this thread has failed yet.
 *
 * The string belongs to the library and is thread-local: it stays valid until the next
 * failing `ptrace_dbg_*` call on the same thread (successful calls leave it alone) or the
 * thread's exit. Other threads' failures never change it. Never fails; never NULL.
 */
const char *ptrace_dbg_last_error(void);

/**
 * Fills `opts` with the defaults: `cwd` NULL, the three fds -1 (inherit), `flags` 0.
 *
 * Callable any time from any thread. A NULL `opts` is a no-op.
 *
 * # Safety
 * A non-NULL `opts` must point to writable memory for one `ptrace_dbg_launch_options`.
 */
void ptrace_dbg_launch_options_init(struct ptrace_dbg_launch_options *opts);

/**
 * The number of registers (27 on x86-64): valid indices are 0 to count - 1.
 *
 * Callable any time from any thread; never fails.
 */
size_t ptrace_dbg_reg_count(void);

/**
 * The name of register `index` ("r15", ..., "rip", ..., "gs"), a static string; NULL when
 * `index` is out of range (and `ptrace_dbg_last_error()` says so).
 *
 * Callable any time from any thread.
 */
const char *ptrace_dbg_reg_name(size_t index);

/**
 * The index of the register called `name` (exact, lower case: "rip", "fs_base").
 *
 * Writes `*index` on success. Returns `PTRACE_DBG_OK`, or `PTRACE_DBG_E_INVALID_ARGUMENT`
 * when `name` or `index` is NULL or no register has that name. Callable any time from any
 * thread.
 *
 * # Safety
 * `name` must be NULL or a NUL-terminated string; `index` NULL or writable.
 */
int ptrace_dbg_reg_index(const char *name, size_t *index);

/**
 * The name of signal `signo`: `"SIGSEGV"` for 11; real-time signals 32 to 64 are
 * `"SIG32"` to `"SIG64"`; anything else (0, negative, above 64) is `"<invalid>"`.
 *
 * A static string. Callable any time from any thread; never fails.
 */
const char *ptrace_dbg_signal_name(int32_t signo);

/**
 * The library's version, `"MAJOR.MINOR.PATCH"`, a static string. Compare it with the
 * `PTRACE_DBG_VERSION_*` macros to see whether the library loaded at run time is the one
 * compiled against.
 *
 * Callable any time from any thread; never fails.
 */
const char *ptrace_dbg_version(void);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* PTRACE_DBG_H */
