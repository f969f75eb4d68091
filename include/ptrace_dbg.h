/*
 * ptrace_dbg: trace and control Linux processes from C, the way a debugger does.
 *
 * Conventions:
 * - Functions that can fail return int: PTRACE_DBG_OK (0) or a negative PTRACE_DBG_E_* code.
 *   Out-parameters are written only on success (except the counts that say how much was
 *   done: *count of ptrace_dbg_threads, *done of peek/poke). ptrace_dbg_strerror(code) gives the code's
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
#define PTRACE_DBG_VERSION_MINOR 2
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
 * The process handle is NULL, was freed, never was a handle, or belongs to the parent of this
 * forked process (handles do not survive fork).
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
 * A limited resource is used up: all four hardware watchpoint slots (debug registers DR0-DR3)
 * are taken.
 */
#define PTRACE_DBG_E_NO_RESOURCE -15

/**
 * No such symbol, loaded object, or symbol breakpoint (and nothing can load one later).
 */
#define PTRACE_DBG_E_NOT_FOUND -16

/**
 * The CPU or kernel lacks the feature (e.g. a zmm register on a CPU without AVX-512).
 */
#define PTRACE_DBG_E_NOT_SUPPORTED -17

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
 * Stop cause: tripped a hardware watchpoint; `pc` is the watchpoint's address and
 * `ptrace_dbg_watchpoint_hit` gives its id. Only ever reported to a caller that set a
 * watchpoint with `ptrace_dbg_add_watchpoint`, so a program that knows only the kinds above
 * never sees it. The thread's state is `PTRACE_DBG_STATE_STOPPED_BREAKPOINT`.
 */
#define PTRACE_DBG_CAUSE_WATCHPOINT 6

/**
 * Stop cause: the dynamic loader's list of objects changed (see `ptrace_dbg_libraries`);
 * reported only after `ptrace_dbg_set_follow` with `PTRACE_DBG_FOLLOW_LIBRARIES`.
 */
#define PTRACE_DBG_CAUSE_LIBRARY 9

/**
 * Stop cause: created a process (fork, vfork, clone without CLONE_THREAD); `new_tid` is its
 * pid. Reported only after `ptrace_dbg_set_follow` with `PTRACE_DBG_FOLLOW_FORK`; take the
 * child with `ptrace_dbg_take_child`.
 */
#define PTRACE_DBG_CAUSE_FORK 10

/**
 * Mapping protection: readable.
 */
#define PTRACE_DBG_PROT_READ 1

/**
 * Mapping protection: writable.
 */
#define PTRACE_DBG_PROT_WRITE 2

/**
 * Mapping protection: executable.
 */
#define PTRACE_DBG_PROT_EXEC 4

/**
 * Mapping flag: shared (`s` in `/proc/PID/maps`), not private.
 */
#define PTRACE_DBG_MAP_SHARED 1

/**
 * `ptrace_dbg_set_follow` flag: follow fork, vfork and clone without CLONE_THREAD. Each new
 * process stops its parent with cause `PTRACE_DBG_CAUSE_FORK` (`cause.new_tid` = the child's
 * pid) until `ptrace_dbg_take_child` takes it or the parent runs again (which lets it go).
 */
#define PTRACE_DBG_FOLLOW_FORK 1

/**
 * `ptrace_dbg_set_follow` flag: stop with cause `PTRACE_DBG_CAUSE_LIBRARY` whenever the
 * dynamic loader's list of objects has changed (dlopen, dlclose, start-up).
 */
#define PTRACE_DBG_FOLLOW_LIBRARIES 2

/**
 * Watchpoint kind: execution of the instruction at the address (a hardware breakpoint, length
 * 1). No byte of the text changes, so it works where a software breakpoint's int3 would be
 * seen or would break something (code the program reads or checksums, code that is also
 * data). It fires
 * before the instruction runs: the thread's PC is the address; continue and step then execute
 * the instruction instead of hitting it again (the CPU's resume flag).
 */
#define PTRACE_DBG_WATCH_EXECUTE 0

/**
 * Watchpoint kind: writes to the range. It fires after the writing instruction: the PC is
 * on the next instruction and memory already holds the new value (every write is reported,
 * also one that stores the value already there).
 */
#define PTRACE_DBG_WATCH_WRITE 1

/**
 * Watchpoint kind: reads or writes of the range. x86 has no read-only watchpoint; there is no
 * `PTRACE_DBG_WATCH_READ` (2 is `PTRACE_DBG_E_INVALID_ARGUMENT`).
 */
#define PTRACE_DBG_WATCH_READ_WRITE 3

/**
 * `ptrace_dbg_record.kind`: a thread executed the instruction at a tracepoint.
 */
#define PTRACE_DBG_RECORD_TRACEPOINT 1

/**
 * `ptrace_dbg_record.kind`: a system call's entry, recorded under `PTRACE_DBG_SYSCALL_RECORD`
 * (`id` is its number).
 */
#define PTRACE_DBG_RECORD_SYSCALL_ENTRY 2

/**
 * `ptrace_dbg_record.kind`: a system call's exit (`id` is its number, `regs.rax` its result).
 */
#define PTRACE_DBG_RECORD_SYSCALL_EXIT 3

/**
 * The most memory bytes one record carries (`ptrace_dbg_tracepoint_capture`).
 */
#define PTRACE_DBG_RECORD_DATA_MAX 64

/**
 * The record buffer's capacity until `ptrace_dbg_set_record_capacity` changes it.
 */
#define PTRACE_DBG_RECORD_DEFAULT_CAPACITY 65536

/**
 * The largest capacity `ptrace_dbg_set_record_capacity` accepts.
 */
#define PTRACE_DBG_RECORD_MAX_CAPACITY 4194304

/**
 * Condition operators for `ptrace_dbg_set_breakpoint_condition`: none (clears the condition).
 */
#define PTRACE_DBG_COND_NONE 0

/**
 * register == value
 */
#define PTRACE_DBG_COND_EQ 1

/**
 * register != value
 */
#define PTRACE_DBG_COND_NE 2

/**
 * register < value, unsigned
 */
#define PTRACE_DBG_COND_LT 3

/**
 * register <= value, unsigned
 */
#define PTRACE_DBG_COND_LE 4

/**
 * register > value, unsigned
 */
#define PTRACE_DBG_COND_GT 5

/**
 * register >= value, unsigned
 */
#define PTRACE_DBG_COND_GE 6

/**
 * register < value, signed
 */
#define PTRACE_DBG_COND_SLT 7

/**
 * register <= value, signed
 */
#define PTRACE_DBG_COND_SLE 8

/**
 * register > value, signed
 */
#define PTRACE_DBG_COND_SGT 9

/**
 * register >= value, signed
 */
#define PTRACE_DBG_COND_SGE 10

/**
 * (register & value) != 0
 */
#define PTRACE_DBG_COND_ANY_BITS 11

/**
 * `ptrace_dbg_trace_syscalls` flag: stop at the entry of the traced calls.
 */
#define PTRACE_DBG_SYSCALL_ENTRY 1

/**
 * `ptrace_dbg_trace_syscalls` flag: stop at the exit of the traced calls.
 */
#define PTRACE_DBG_SYSCALL_EXIT 2

/**
 * `ptrace_dbg_trace_syscalls` flag: let a seccomp filter stop only the traced calls, so the
 * others cost nothing (launched processes, at their launch stop; see that function).
 */
#define PTRACE_DBG_SYSCALL_SECCOMP 4

/**
 * `ptrace_dbg_trace_syscalls` flag (with `_ENTRY` and/or `_EXIT`): the stops are not reported
 * but recorded, as tracepoint hits are (`ptrace_dbg_read_records`, kinds
 * `PTRACE_DBG_RECORD_SYSCALL_ENTRY`/`_EXIT`, `id` the call's number, `regs` as at the stop),
 * and the thread goes on at once: no other thread stops (an strace need not stop the world
 * per call). A full record buffer holds the thread as for tracepoints.
 */
#define PTRACE_DBG_SYSCALL_RECORD 8

/**
 * Stop cause: at the entry of a traced system call (`ptrace_dbg_syscall_info` tells which).
 * Only while system calls are traced (`ptrace_dbg_trace_syscalls`).
 */
#define PTRACE_DBG_CAUSE_SYSCALL_ENTRY 7

/**
 * Stop cause: at the exit of a traced system call (`ptrace_dbg_syscall_info` tells which and
 * its result). Only while system calls are traced.
 */
#define PTRACE_DBG_CAUSE_SYSCALL_EXIT 8





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
     * `THREAD_CREATE`: the new thread's id; `FORK`: the new process's pid.
     */
    int32_t new_tid;
    /**
     * `THREAD_EXIT`: the exit status, or -1 when killed by a signal.
     */
    int32_t exit_status;
    /**
     * `BREAKPOINT`: the breakpoint's address. `WATCHPOINT`: the watchpoint's address (not
     * the thread's PC: x86 does not say which byte was accessed).
     */
    uint64_t pc;
} ptrace_dbg_cause;

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
 * One mapping of the process, as a line of `/proc/PID/maps` gives it (its path through
 * `ptrace_dbg_mapping_path`).
 */
typedef struct ptrace_dbg_mapping {
    /**
     * First address.
     */
    uint64_t start;
    /**
     * One past the last address.
     */
    uint64_t end;
    /**
     * Offset into the mapped file (0 for anonymous memory).
     */
    uint64_t offset;
    /**
     * Inode of the mapped file (0 for anonymous memory).
     */
    uint64_t inode;
    /**
     * Device of the mapped file: major number.
     */
    uint32_t dev_major;
    /**
     * Device of the mapped file: minor number.
     */
    uint32_t dev_minor;
    /**
     * `PTRACE_DBG_PROT_*` bits.
     */
    uint32_t prot;
    /**
     * `PTRACE_DBG_MAP_*` bits.
     */
    uint32_t flags;
} ptrace_dbg_mapping;

/**
 * One object in the dynamic loader's list (its path through `ptrace_dbg_library_path`).
 */
typedef struct ptrace_dbg_library {
    /**
     * `l_addr`: the load bias (runtime address = address in the ELF file + base); 0 for a
     * program that is not position-independent.
     */
    uint64_t base;
    /**
     * `l_ld`: the address of its dynamic section (0 if none).
     */
    uint64_t dynamic;
    /**
     * The address of its `link_map` entry in the process (0 when the list comes from the
     * memory maps because the loader has not run yet, or the program is static).
     */
    uint64_t link_map;
} ptrace_dbg_library;

/**
 * The x87 and SSE registers of one thread: the kernel's `user_fpregs_struct` (the 512-byte
 * FXSAVE image), same order and names.
 *
 * `st_space` holds st0-st7 (16 bytes each, the 80-bit value in the low 10), `xmm_space`
 * xmm0-xmm15 (16 bytes each). `ftw` is FXSAVE's abridged tag (one bit per register, 1 = not
 * empty). `rip`/`rdp` are the last x87 instruction and operand pointers. `padding` reads as
 * zeros and is ignored on write.
 */
typedef struct ptrace_dbg_fpregs {
    uint16_t cwd;
    uint16_t swd;
    uint16_t ftw;
    uint16_t fop;
    uint64_t rip;
    uint64_t rdp;
    uint32_t mxcsr;
    uint32_t mxcr_mask;
    uint32_t st_space[32];
    uint32_t xmm_space[64];
    uint32_t padding[24];
} ptrace_dbg_fpregs;

/**
 * One tracepoint hit, as the monitor thread captured it.
 */
typedef struct ptrace_dbg_record {
    /**
     * `PTRACE_DBG_RECORD_TRACEPOINT`, `_SYSCALL_ENTRY` or `_SYSCALL_EXIT`.
     */
    int32_t kind;
    /**
     * The thread that hit it.
     */
    int32_t tid;
    /**
     * The tracepoint's id (from `ptrace_dbg_add_tracepoint`); for a system call, its number.
     */
    int32_t id;
    /**
     * How many bytes of `data` are valid (fewer than asked where the range ran into unmapped
     * memory; 0 without a capture).
     */
    uint32_t data_len;
    /**
     * CLOCK_MONOTONIC at the hit, in nanoseconds.
     */
    uint64_t time_ns;
    /**
     * The tracepoint's address.
     */
    uint64_t pc;
    /**
     * The registers at the hit, before the instruction ran (`rip` = `pc`).
     */
    struct ptrace_dbg_regs regs;
    /**
     * The captured memory (`ptrace_dbg_tracepoint_capture`).
     */
    uint8_t data[PTRACE_DBG_RECORD_DATA_MAX];
} ptrace_dbg_record;

/**
 * Counters of a process's record buffer.
 */
typedef struct ptrace_dbg_record_stats {
    /**
     * Records ever made.
     */
    uint64_t recorded;
    /**
     * Records waiting to be read.
     */
    uint64_t pending;
    /**
     * How many times a thread was held because the buffer was full.
     */
    uint64_t waits;
    /**
     * The total time threads were held, in nanoseconds.
     */
    uint64_t wait_ns;
    /**
     * The buffer's capacity.
     */
    uint64_t capacity;
} ptrace_dbg_record_stats;

/**
 * The system call a thread is stopped at, as `ptrace_dbg_syscall_info` reports it.
 */
typedef struct ptrace_dbg_syscall {
    /**
     * The call's number (x86-64 numbers, see `ptrace_dbg_syscall_name`); at an exit, the
     * number it was entered with (-1 for a skipped call).
     */
    int32_t number;
    /**
     * 0 at an entry stop, 1 at an exit stop.
     */
    int32_t is_exit;
    /**
     * The six arguments (rdi, rsi, rdx, r10, r8, r9).
     */
    uint64_t args[6];
    /**
     * At an exit: the result, -errno on failure (-512..-516 for a call a signal broke off,
     * which the kernel restarts or turns into -EINTR). At an entry: 0.
     */
    int64_t ret;
    /**
     * At an exit: 1 when `ret` is an error (-4095..-1).
     */
    int32_t is_error;
    /**
     * `PTRACE_DBG_ARCH_X86_64`, or `PTRACE_DBG_ARCH_I386` for `int 0x80`.
     */
    uint32_t arch;
    /**
     * The address after the `syscall` instruction.
     */
    uint64_t pc;
    /**
     * The stack pointer.
     */
    uint64_t sp;
} ptrace_dbg_syscall;

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
 * Callable any time from any thread.
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

/**
 * Attaches to process `pid`: every one of its threads, including threads it creates while
 * the attach runs, is traced and stopped when this returns (cause `PTRACE_DBG_CAUSE_STOPPED`).
 * A main thread that already called pthread_exit is skipped, not an error; a process stopped by
 * job control (state T) is attached too. `*out` receives the handle; release it with
 * `ptrace_dbg_process_free` (which detaches).
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`, `pid` <= 0, the host's
 * own pid, a thread id that is not a process id); `PTRACE_DBG_E_NO_SUCH_PROCESS`;
 * `PTRACE_DBG_E_PERMISSION` (another tracer, kernel.yama.ptrace_scope, missing
 * CAP_SYS_PTRACE: `ptrace_dbg_last_error()` names the likely one); `PTRACE_DBG_E_TIMEOUT` if
 * a thread never stops; `PTRACE_DBG_E_OS`.
 *
 * Callable from any thread. The library starts one monitor thread (and one tiny helper
 * child process, its "doorbell") per traced process and the children taken from it
 * (`ptrace_dbg_take_child`); they end when the last of those processes is freed.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_attach(int32_t pid, struct ptrace_dbg_process **out);

/**
 * Forks and execs `path` traced, and returns with the new process stopped at its first
 * instruction after exec (cause `PTRACE_DBG_CAUSE_EXEC`). `*out` receives the handle; release
 * it with `ptrace_dbg_process_free` (which kills the process).
 *
 * - `path`: no shell is involved. A path containing '/' is used as is; a bare name is
 *   searched in the host's PATH (default "/usr/local/bin:/usr/bin:/bin").
 * - `argv`: NULL-terminated, `argv[0]` first. NULL (or an empty array) runs the program with
 *   `path` alone as `argv[0]`.
 * - `envp`: NULL-terminated "NAME=value" strings; NULL inherits the host's environment.
 * - `opts`: NULL means the defaults of `ptrace_dbg_launch_options_init` (inherit cwd and
 *   stdio, no flags). The descriptors in `opts` are dup2'ed onto 0, 1, 2 in the child; the
 *   caller keeps its own copies.
 *
 * An exec failure is reported here (code `PTRACE_DBG_E_OS`, or `PTRACE_DBG_E_PERMISSION` for
 * EACCES/EPERM, with `ptrace_dbg_last_error()` naming the failing step, e.g.
 * "execve: ENOENT"), never as a process that exits 127. The launched process is killed if the
 * host dies (PTRACE_O_EXITKILL). No descriptor of the library leaks into it.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `path` or `out`, an empty
 * path, an unknown bit in `opts->flags`, a stdio descriptor below -1 or not open, a string
 * array without its NULL); `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_PERMISSION`.
 *
 * Callable from any thread.
 *
 * # Safety
 * `path` must be NULL or a NUL-terminated string. `argv` and `envp` must be NULL or
 * NULL-terminated arrays of NUL-terminated strings; `opts` NULL or a valid options struct
 * whose `cwd` is NULL or a NUL-terminated string; `out` NULL or writable. All of them only need
 * to live for the duration of the call.
 */
int ptrace_dbg_launch(const char *path,
                      const char *const *argv,
                      const char *const *envp,
                      const struct ptrace_dbg_launch_options *opts,
                      struct ptrace_dbg_process **out);

/**
 * The process id of the traced process (also after it exited or was detached).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE` or `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (NULL `out`). Callable any time from any thread.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_pid(const struct ptrace_dbg_process *p, int32_t *out);

/**
 * Stops the process, removes every breakpoint from its memory and detaches every thread: the
 * process runs on untraced (no thread left in state t or T by us), with its pending signals
 * delivered. The handle stays valid (calls then give `PTRACE_DBG_E_BAD_STATE`) until freed.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED` (it exited
 * first), `PTRACE_DBG_E_BAD_STATE` (already detached), `PTRACE_DBG_E_TIMEOUT` (a thread
 * never stopped). Callable running or stopped, from any thread. Calls blocked meanwhile on
 * other threads (`ptrace_dbg_wait_stop`, `_stop`, `_step`) return `PTRACE_DBG_E_BAD_STATE`
 * once the detach is done, never `PTRACE_DBG_OK` for the stop the detach makes first.
 */
int ptrace_dbg_detach(struct ptrace_dbg_process *p);

/**
 * Kills the process with SIGKILL and waits until every thread is reaped; afterwards calls
 * give `PTRACE_DBG_E_EXITED` and `ptrace_dbg_exit_status` reports signal 9. The handle stays
 * valid until freed.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED` (it had
 * already exited), `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_TIMEOUT`. Callable
 * running or stopped, from any thread. Calls blocked meanwhile on other threads
 * (`ptrace_dbg_wait_stop`, `_stop`, `_step`) return `PTRACE_DBG_E_EXITED`.
 */
int ptrace_dbg_kill(struct ptrace_dbg_process *p);

/**
 * Releases a process handle. NULL is a no-op. A process that was attached is detached (left
 * running, untraced, without our breakpoints); a launched one is killed and reaped. Then the
 * library's monitor thread for it ends and the handle is dead: every later call with it gives
 * `PTRACE_DBG_E_INVALID_HANDLE`. Freeing it again is harmless: nothing happens except that
 * `ptrace_dbg_last_error()` says the handle was freed. In a child the host forked, the handle
 * is not the child's: nothing happens (the parent's process is untouched) and
 * `ptrace_dbg_last_error()` says so.
 *
 * Callable running or stopped, from any thread, also while other threads are inside calls on
 * the same handle: the handle is retired at once, so new calls fail, and the process is
 * killed or detached here, so calls blocked on it (e.g. `ptrace_dbg_wait_stop` with -1) return
 * `PTRACE_DBG_E_EXITED` or `PTRACE_DBG_E_BAD_STATE` instead of waiting on. The in-flight calls
 * keep the library's process object alive until they return; whichever thread lets go of it
 * last joins the (by then finished) monitor thread. That thread is never the monitor itself,
 * which holds no reference to the object, so the join cannot deadlock.
 */
void ptrace_dbg_process_free(struct ptrace_dbg_process *p);

/**
 * After the process exited (`PTRACE_DBG_E_EXITED` from a call, or after
 * `ptrace_dbg_kill`): `*exit_code` gets its exit code, or -1 when a signal killed it, and
 * `*term_signal` the terminating signal, or 0. Either pointer may be NULL.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_BAD_STATE` (not
 * exited yet, or detached). Callable any time from any thread.
 *
 * # Safety
 * `exit_code` and `term_signal` must each be NULL or writable.
 */
int ptrace_dbg_exit_status(const struct ptrace_dbg_process *p,
                           int32_t *exit_code,
                           int32_t *term_signal);

/**
 * Stops every thread of the process; returns when all are stopped (threads already stopped
 * stay as they are, with their causes). Afterwards `ptrace_dbg_wait_stop` returns at once,
 * with trigger 0 if no thread's own event came first.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_TIMEOUT` (a thread did not stop within
 * 30 s, e.g. in uninterruptible sleep). Callable running or stopped, from any thread. A stop
 * that meets another thread's detach or kill returns `PTRACE_DBG_E_BAD_STATE` or
 * `PTRACE_DBG_E_EXITED` once that call is done.
 */
int ptrace_dbg_stop(struct ptrace_dbg_process *p);

/**
 * Resumes every thread. A thread stopped at a breakpoint is first stepped over it (the
 * breakpoint stays set); a thread stopped by a signal other than the library's own
 * SIGSTOP/SIGTRAP gets that signal delivered; a thread in its exit stop goes on exiting.
 * Returns without waiting for anything: use `ptrace_dbg_wait_stop` for the next stop.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_BAD_STATE` (running
 * already, or detached), `PTRACE_DBG_E_EXITED`. Callable from any thread while stopped.
 */
int ptrace_dbg_continue(struct ptrace_dbg_process *p);

/**
 * Waits until every thread is stopped because some thread hit a breakpoint, got a signal,
 * created a thread, exited or exec'd (or because `ptrace_dbg_stop` stopped it). Returns at once
 * if the process is stopped already.
 *
 * `timeout_ms`: -1 waits forever, 0 only polls, a positive value waits up to that many
 * milliseconds. `*trigger_tid` (`trigger_tid` may be NULL) gets the thread whose event stopped
 * the process, 0 when it was stopped on request; `ptrace_dbg_stop_cause` tells what happened.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_TIMEOUT` (still running); `PTRACE_DBG_E_EXITED` once
 * no thread is left (then see `ptrace_dbg_exit_status`); `PTRACE_DBG_E_BAD_STATE` (detached);
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (`timeout_ms` below -1); `PTRACE_DBG_E_INVALID_HANDLE`;
 * `PTRACE_DBG_E_INTERNAL` if the library's monitor thread for the process failed (a wait is
 * then not left to run out). Callable running or stopped, from any thread, by several at
 * once (all of them wake).
 * While another thread detaches, kills or frees the process, a wait returns what that call
 * left (`PTRACE_DBG_E_BAD_STATE` or `PTRACE_DBG_E_EXITED`), never `PTRACE_DBG_OK` for the
 * stop a detach makes on its way out; a wait whose time runs out first gets
 * `PTRACE_DBG_E_TIMEOUT`.
 *
 * # Safety
 * `trigger_tid` must be NULL or writable.
 */
int ptrace_dbg_wait_stop(struct ptrace_dbg_process *p, int32_t timeout_ms, int32_t *trigger_tid);

/**
 * A file descriptor that polls readable (POLLIN) exactly while `ptrace_dbg_wait_stop` would
 * return without blocking: the process is stopped, has exited or was detached. For poll,
 * epoll, asyncio or libuv users: wait for readability, then call `ptrace_dbg_wait_stop(p, 0,
 * ...)`. It is also readable while tracepoint or system-call records wait to be read
 * (`ptrace_dbg_read_records`; then `wait_stop(p, 0, ...)` may return
 * `PTRACE_DBG_E_TIMEOUT`: read the records first). When the host process may use only one
 * CPU, a new record makes it readable once the monitor thread has handled the events at hand
 * (at most 64), not at once: the reader then takes records in batches instead of preempting
 * the monitor at every hit; with more CPUs, at once. Never read from it, write to it or close
 * it: it belongs to the library and is closed by `ptrace_dbg_process_free`. It is
 * close-on-exec.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (NULL `fd`). Callable any time from any thread; the same descriptor every time.
 *
 * # Safety
 * `fd` must be NULL or writable.
 */
int ptrace_dbg_event_fd(struct ptrace_dbg_process *p, int32_t *fd);

/**
 * Executes one instruction of stopped thread `tid`; every other thread stays stopped. A
 * breakpoint under its PC is stepped over (and stays set). Returns when the step is done; the
 * thread is then stopped with cause `PTRACE_DBG_CAUSE_STOPPED`, or with the cause of whatever
 * ended the step first (a signal arriving meanwhile is reported, not lost). A thread whose
 * program set its own trap flag (TF) gets its own SIGTRAP from that instruction too: the step
 * ends with cause `PTRACE_DBG_CAUSE_SIGNAL` (SIGTRAP), delivered at the next resume, as an
 * untraced run delivers it (so does a continue's step over a breakpoint under such a thread).
 *
 * A thread stopped inside a blocking system call, or on a `syscall` instruction, re-enters
 * the call when stepped, and the step ends only when the call returns: this function gives up
 * after 30 s with `PTRACE_DBG_E_TIMEOUT`, leaving the process running (that thread stepping);
 * `ptrace_dbg_stop` from any thread ends the step earlier (then `PTRACE_DBG_OK`), and so do
 * `ptrace_dbg_detach`, `_kill` and `_process_free` (then `PTRACE_DBG_E_BAD_STATE` or
 * `PTRACE_DBG_E_EXITED`).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_HANDLE`, `PTRACE_DBG_E_NO_SUCH_THREAD`,
 * `PTRACE_DBG_E_BAD_STATE` (the process runs, or is detached, or the thread is in its exit
 * stop, `PTRACE_DBG_STATE_STOPPED_EXITING`: it runs no more user code), `PTRACE_DBG_E_EXITED`
 * (also when the step ended the process), `PTRACE_DBG_E_TIMEOUT`. Callable from any thread
 * while stopped.
 */
int ptrace_dbg_step(struct ptrace_dbg_process *p, int32_t tid);

/**
 * The live threads of the process: main thread first while it lives, zombie and exited
 * threads left out. `*count` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`)
 * to the number of threads; up to `cap` tids are written to `tids`. Call with `cap` 0 and
 * `tids` NULL to learn the size. Threads come and go while the process runs; the list is
 * exact while it is stopped.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap` < `*count` (nothing is
 * written to `tids` then); `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL `tids` with
 * `cap` > 0); `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_BAD_STATE` (detached);
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped, from any thread; never waits for
 * the process.
 *
 * # Safety
 * `tids` must be NULL or writable for `cap` elements; `count` NULL or writable.
 */
int ptrace_dbg_threads(struct ptrace_dbg_process *p, int32_t *tids, size_t cap, size_t *count);

/**
 * The state of thread `tid`, one of `PTRACE_DBG_STATE_*`.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `state`),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped, from any thread; never waits.
 *
 * # Safety
 * `state` must be NULL or writable.
 */
int ptrace_dbg_thread_state(struct ptrace_dbg_process *p, int32_t tid, int32_t *state);

/**
 * Why stopped thread `tid` is stopped: `out->kind` is one of `PTRACE_DBG_CAUSE_*`, with the
 * fields of that kind set and the others 0 (see `ptrace_dbg_cause`).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (the thread is not stopped, or the process
 * was detached), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
 * any thread while the thread is stopped; never waits.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_stop_cause(struct ptrace_dbg_process *p, int32_t tid, struct ptrace_dbg_cause *out);

/**
 * Sets a breakpoint at address `pc`: an int3 goes into the text, and a thread that executes
 * it stops the process with cause `PTRACE_DBG_CAUSE_BREAKPOINT` (`cause.pc` = `pc`) and its PC
 * reading as `pc`. It stays set across hits until removed; memory reads through
 * `ptrace_dbg_peek` never show the int3, and detach, kill and free take it out.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BREAKPOINT_EXISTS`, `PTRACE_DBG_E_FAULT` (`pc` is not
 * mapped), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 */
int ptrace_dbg_add_breakpoint(struct ptrace_dbg_process *p, uint64_t pc);

/**
 * Removes the breakpoint at `pc`, restoring the original byte.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_BAD_STATE` (running or
 * detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
 * while stopped.
 */
int ptrace_dbg_remove_breakpoint(struct ptrace_dbg_process *p, uint64_t pc);

/**
 * The registers of thread `tid` (a thread at a breakpoint has its `rip` at the breakpoint).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL
 * `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_get_regs(struct ptrace_dbg_process *p, int32_t tid, struct ptrace_dbg_regs *out);

/**
 * Writes every register of thread `tid`. Setting `rip` onto a breakpoint is fine: the next
 * continue steps over it first. The kernel refuses some values with `PTRACE_DBG_E_OS` (EIO):
 * bad segment selectors (`cs`, `ss`, `ds`, ...) and a non-canonical `fs_base` or `gs_base`.
 * It accepts a non-canonical `rip`: the thread then gets SIGSEGV when it resumes.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `in`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
 * any thread while stopped.
 *
 * # Safety
 * `in` must be NULL or point to a valid `ptrace_dbg_regs`.
 */
int ptrace_dbg_set_regs(struct ptrace_dbg_process *p,
                        int32_t tid,
                        const struct ptrace_dbg_regs *in);

/**
 * Reads register `index` (0 to `ptrace_dbg_reg_count()` - 1, see `ptrace_dbg_reg_name`) of
 * thread `tid`.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`index` out of range, NULL
 * `value`), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while
 * stopped.
 *
 * # Safety
 * `value` must be NULL or writable.
 */
int ptrace_dbg_get_reg(struct ptrace_dbg_process *p, int32_t tid, size_t index, uint64_t *value);

/**
 * Writes register `index` of thread `tid`; the others keep their values. Two host threads
 * writing different registers of the same thread at once may lose one write (each call reads
 * and writes the whole set): use `ptrace_dbg_set_regs` for several at a time.
 *
 * Returns as `ptrace_dbg_get_reg`, plus `PTRACE_DBG_E_OS` for a value the kernel rejects.
 * Callable from any thread while stopped.
 */
int ptrace_dbg_set_reg(struct ptrace_dbg_process *p, int32_t tid, size_t index, uint64_t value);

/**
 * The program counter (`rip`) of thread `tid`.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `pc`),
 * `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while
 * stopped.
 *
 * # Safety
 * `pc` must be NULL or writable.
 */
int ptrace_dbg_get_pc(struct ptrace_dbg_process *p, int32_t tid, uint64_t *pc);

/**
 * Sets the program counter (`rip`) of thread `tid`; the thread continues from there.
 *
 * Returns as `ptrace_dbg_set_reg`. Callable from any thread while stopped.
 */
int ptrace_dbg_set_pc(struct ptrace_dbg_process *p, int32_t tid, uint64_t pc);

/**
 * The stack pointer (`rsp`) of thread `tid`.
 *
 * Returns as `ptrace_dbg_get_pc` (NULL `sp`: `PTRACE_DBG_E_INVALID_ARGUMENT`). Callable from any
 * thread while stopped.
 *
 * # Safety
 * `sp` must be NULL or writable.
 */
int ptrace_dbg_get_sp(struct ptrace_dbg_process *p, int32_t tid, uint64_t *sp);

/**
 * Sets the stack pointer (`rsp`) of thread `tid`.
 *
 * Returns as `ptrace_dbg_set_reg`. Callable from any thread while stopped.
 */
int ptrace_dbg_set_sp(struct ptrace_dbg_process *p, int32_t tid, uint64_t sp);

/**
 * Reads `len` bytes of the process's memory at `addr` into `buf`, through stopped thread
 * `tid` (any stopped thread: they share the address space). The library's own breakpoint
 * bytes never show: the original bytes are read in their place. Bulk: megabytes per system
 * call (process_vm_readv, /proc/PID/mem).
 *
 * `*done` (`done` may be NULL) is always set to the bytes read, on failure too. Where the
 * range runs into unmapped memory, the bytes up to the first inaccessible one are read and the
 * call returns `PTRACE_DBG_E_FAULT`. `len` 0 reads nothing and succeeds.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_FAULT`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `buf`
 * with `len` > 0, a `len` above SSIZE_MAX, a range wrapping past the end of the address
 * space), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_NO_SUCH_THREAD`,
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `buf` must be NULL or writable for `len` bytes; `done` NULL or writable.
 */
int ptrace_dbg_peek(struct ptrace_dbg_process *p,
                    int32_t tid,
                    uint64_t addr,
                    void *buf,
                    size_t len,
                    size_t *done);

/**
 * Writes `len` bytes from `buf` into the process's memory at `addr`, through stopped thread
 * `tid`. Read-only mappings are written too (code patching), as PTRACE_POKETEXT does. Bytes
 * written over one of the library's breakpoints become its saved original; the breakpoint
 * stays set.
 *
 * `*done` (`done` may be NULL) is always set to the bytes written, on failure too. Where the
 * range runs into unmapped memory, the bytes before it are written and the call returns
 * `PTRACE_DBG_E_FAULT`. `len` 0 writes nothing and succeeds.
 *
 * Returns as `ptrace_dbg_peek` (NULL `buf` with `len` > 0 is `PTRACE_DBG_E_INVALID_ARGUMENT`).
 * Callable from any thread while stopped.
 *
 * # Safety
 * `buf` must be NULL or readable for `len` bytes; `done` NULL or writable.
 */
int ptrace_dbg_poke(struct ptrace_dbg_process *p,
                    int32_t tid,
                    uint64_t addr,
                    const void *buf,
                    size_t len,
                    size_t *done);

/**
 * Lists the process's memory mappings, read from `/proc/PID/maps` now, in address order.
 * `*count` is always set to the number of mappings; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when
 * `cap < *count` (then nothing is written to `out`, which may be NULL when `cap` is 0). The
 * listing is kept: `ptrace_dbg_mapping_path` names its entries by index until the next call.
 * After exec it is the new program's memory. A process that is exiting (its last thread
 * past its exit stop, its exit not yet collected) has no address space left: 0 mappings.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL
 * `out` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped.
 *
 * # Safety
 * `out` must be NULL or writable for `cap` elements; `count` NULL or writable.
 */
int ptrace_dbg_maps(struct ptrace_dbg_process *p,
                    struct ptrace_dbg_mapping *out,
                    size_t cap,
                    size_t *count);

/**
 * The path of mapping `index` of the last `ptrace_dbg_maps` listing on this handle, as
 * `/proc/PID/maps` shows it: a file path, a pseudo-name such as `[stack]` or `[vdso]`, or ""
 * for anonymous memory. Copied with its NUL into `buf` (`cap` bytes); `*len` (may be NULL)
 * gets its length without the NUL, also when the buffer is too small.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (`index` not in the last listing, NULL `buf` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`.
 *
 * # Safety
 * `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
 */
int ptrace_dbg_mapping_path(struct ptrace_dbg_process *p,
                            size_t index,
                            char *buf,
                            size_t cap,
                            size_t *len);

/**
 * The runtime address of `symbol` (a function or variable of an ELF symbol table: `.symtab`,
 * `.dynsym`, or an installed separate debug file). `library` NULL searches the program, then
 * every loaded library in load order, and takes the first definition; else `library` is a
 * path or a file name ("libc.so.6") of a loaded object, and only it is searched. Works for
 * position-independent and fixed-address programs, libraries and static programs. Stopped at
 * a launched program's first instruction only the program and the dynamic loader are loaded;
 * libraries resolve once the loader has mapped them. For an indirect function (`memcpy` in
 * glibc) this is its resolver.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (no such symbol, or no such loaded
 * object), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_BAD_STATE` (detached),
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `symbol` or `addr`, not UTF-8),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable running or stopped (stopped, the loaded objects are
 * read once and reused until the process runs again).
 *
 * # Safety
 * `library` must be NULL or a C string; `symbol` a C string; `addr` NULL or writable.
 */
int ptrace_dbg_symbol_address(struct ptrace_dbg_process *p,
                              const char *library,
                              const char *symbol,
                              uint64_t *addr);

/**
 * The symbol containing `addr`: its name into `name` (`cap` bytes, with its NUL), the offset
 * of `addr` into it into `*offset`, and the path of its object into `path` (`path_cap`
 * bytes). `offset` may be NULL; `path` may be NULL when `path_cap` is 0. Fast: each object's
 * symbols are a sorted table, and while the process stays stopped the objects are not read
 * again (about a microsecond a call).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (`addr` is in no loaded object, or in
 * none of its symbols), `PTRACE_DBG_E_BUFFER_TOO_SMALL` (`name` or `path`; nothing written),
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (NULL `name` or a NULL `path` with a size), `PTRACE_DBG_E_INVALID_HANDLE`.
 *
 * # Safety
 * `name` must be writable for `cap` bytes; `path` NULL or writable for `path_cap` bytes;
 * `offset` NULL or writable.
 */
int ptrace_dbg_address_symbol(struct ptrace_dbg_process *p,
                              uint64_t addr,
                              char *name,
                              size_t cap,
                              uint64_t *offset,
                              char *path,
                              size_t path_cap);

/**
 * Lists the loaded objects in load order, as the dynamic loader's `r_debug`/`link_map` list
 * has them: the program first, then its libraries (and the vDSO and the loader). Before the
 * loader has run (stopped at a launched program's first instruction) and for a static
 * program, the list comes from the memory maps: the program and the loader, `link_map` 0.
 * `*count` is always set; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap < *count`. The listing
 * is kept for `ptrace_dbg_library_path` until the next call.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_BAD_STATE` (detached), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `count`, or NULL
 * `out` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`. Stopped for a consistent answer.
 *
 * # Safety
 * `out` must be NULL or writable for `cap` elements; `count` NULL or writable.
 */
int ptrace_dbg_libraries(struct ptrace_dbg_process *p,
                         struct ptrace_dbg_library *out,
                         size_t cap,
                         size_t *count);

/**
 * The path of object `index` of the last `ptrace_dbg_libraries` listing: the loader's
 * `l_name` (the program's own path for the program), copied with its NUL into `buf`; `*len`
 * (may be NULL) gets its length without the NUL, also when the buffer is too small.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BUFFER_TOO_SMALL`, `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (`index` not in the last listing, NULL `buf` with `cap` > 0), `PTRACE_DBG_E_INVALID_HANDLE`.
 *
 * # Safety
 * `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
 */
int ptrace_dbg_library_path(struct ptrace_dbg_process *p,
                            size_t index,
                            char *buf,
                            size_t cap,
                            size_t *len);

/**
 * What the library follows besides the process's own threads; `flags` replaces the previous
 * set (read it with `ptrace_dbg_get_follow` to change one bit). `PTRACE_DBG_FOLLOW_LIBRARIES`
 * makes every change of the loaded objects (dlopen, dlclose, and the loader's start-up) stop
 * the process with cause `PTRACE_DBG_CAUSE_LIBRARY` on the thread that made it.
 * `PTRACE_DBG_FOLLOW_FORK` makes every fork, vfork and clone of a process stop it with cause
 * `PTRACE_DBG_CAUSE_FORK` (see `ptrace_dbg_take_child`). 0 turns both off; without a flag its
 * cause is never reported.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (an unknown or reserved flag),
 * `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Process stopped.
 */
int ptrace_dbg_set_follow(struct ptrace_dbg_process *p, uint32_t flags);

/**
 * The follow flags in force: what `ptrace_dbg_set_follow` last set, or, for a child taken
 * with `ptrace_dbg_take_child`, what it inherited from its parent.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `flags`),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Any state.
 *
 * # Safety
 * `flags` must be NULL or writable.
 */
int ptrace_dbg_get_follow(struct ptrace_dbg_process *p, uint32_t *flags);

/**
 * A breakpoint on a function by name: set now in every loaded object that defines `symbol`
 * (only in `library`, a path or file name, when not NULL), and in every object that defines
 * it when one is loaded later (dlopen). When such an object is unloaded (dlclose) the
 * breakpoint leaves it without a byte being written into that memory. A hit stops the process
 * with cause `PTRACE_DBG_CAUSE_BREAKPOINT` and `cause.pc` the address, as any breakpoint.
 * `*id` names it for `ptrace_dbg_remove_symbol_breakpoint`. The loader's own breakpoint that
 * makes this work never shows as a stop.
 *
 * Returns `PTRACE_DBG_OK` (set, or pending until an object defining it loads),
 * `PTRACE_DBG_E_NOT_FOUND` (nothing defines it and the program has no dynamic loader, e.g.
 * a static program), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL or empty `symbol`, empty `library`, NULL `id`),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Process stopped.
 *
 * # Safety
 * `library` must be NULL or a C string; `symbol` a C string; `id` NULL or writable.
 */
int ptrace_dbg_add_symbol_breakpoint(struct ptrace_dbg_process *p,
                                     const char *library,
                                     const char *symbol,
                                     int32_t *id);

/**
 * Removes symbol breakpoint `id` from every object it is set in.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NOT_FOUND` (no such id), `PTRACE_DBG_E_BAD_STATE`
 * (running or detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Process
 * stopped.
 */
int ptrace_dbg_remove_symbol_breakpoint(struct ptrace_dbg_process *p, int32_t id);

/**
 * Reads the x87 and SSE registers of stopped thread `tid` (from the XSAVE area, so
 * registers in their initial state read as their initial values, and writes made during this
 * stop are seen).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
 * any thread while stopped.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_get_fpregs(struct ptrace_dbg_process *p, int32_t tid, struct ptrace_dbg_fpregs *out);

/**
 * Writes the x87 and SSE registers of stopped thread `tid` (everything but `mxcr_mask` and
 * `padding`, which are ignored). The registers reach the thread before it runs again.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `in`, or an `mxcsr` with bits
 * outside the CPU's mask), `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_OS`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `in` must be NULL or point to a valid `ptrace_dbg_fpregs`.
 */
int ptrace_dbg_set_fpregs(struct ptrace_dbg_process *p,
                          int32_t tid,
                          const struct ptrace_dbg_fpregs *in);

/**
 * Copies the whole XSAVE area of stopped thread `tid` (the kernel's `NT_X86_XSTATE`, standard
 * format: FXSAVE image, header with `xstate_bv` at byte 512, then the components at the
 * offsets CPUID leaf 0xD gives) into `buf`, for saving and restoring the register file.
 * Components in their initial state (`xstate_bv` bit clear) hold their initial values.
 *
 * `*len` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`) to the area's size,
 * which is the kernel's (e.g. 2,696 bytes with AVX-512, 11,008 with AMX); call with `buf` NULL
 * and `cap` 0 to learn it.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` when `cap` < `*len` (nothing copied);
 * `PTRACE_DBG_E_NOT_SUPPORTED` (no XSAVE on this CPU or kernel);
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `len`, or NULL `buf` with `cap` > 0);
 * `PTRACE_DBG_E_BAD_STATE` (running or detached); `PTRACE_DBG_E_NO_SUCH_THREAD`;
 * `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any
 * thread while stopped.
 *
 * # Safety
 * `buf` must be NULL or writable for `cap` bytes; `len` NULL or writable.
 */
int ptrace_dbg_get_xstate(struct ptrace_dbg_process *p,
                          int32_t tid,
                          void *buf,
                          size_t cap,
                          size_t *len);

/**
 * Replaces the whole XSAVE area of stopped thread `tid` with `buf`, at once (one
 * PTRACE_SETREGSET), e.g. one saved by `ptrace_dbg_get_xstate`. `len` must be exactly the size
 * `ptrace_dbg_get_xstate` reports: the kernel takes nothing else. Components whose
 * `xstate_bv` bit is clear are set to their initial values. Register writes of this stop not
 * yet applied are replaced.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `buf`, wrong `len`, or an
 * area the kernel refuses: `xstate_bv` naming features not enabled, `xcomp_bv` not 0,
 * reserved header bytes set, bad MXCSR); `PTRACE_DBG_E_NOT_SUPPORTED` (no XSAVE);
 * `PTRACE_DBG_E_BAD_STATE`; `PTRACE_DBG_E_NO_SUCH_THREAD`; `PTRACE_DBG_E_EXITED`;
 * `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `buf` must be NULL or readable for `len` bytes.
 */
int ptrace_dbg_set_xstate(struct ptrace_dbg_process *p, int32_t tid, const void *buf, size_t len);

/**
 * Reads register `name` of stopped thread `tid` into `buf` as little-endian bytes of its
 * natural size: the general registers as in `ptrace_dbg_regs` ("rax", "rip", "eflags",
 * "fs_base", "cs", ... 8 bytes); "st0".."st7" (10); "fctrl", "fstat", "ftag" (abridged),
 * "fop" (2); "fioff", "fiseg", "fooff", "foseg" (4); "mxcsr" (4); "xmm0".."xmm15" (16);
 * with AVX "ymm0".."ymm15" (32); with AVX-512 "xmm16".."xmm31", "ymm16".."ymm31",
 * "zmm0".."zmm31" (64) and "k0".."k7" (8); with protection keys "pkru" (4); "dr0".."dr3",
 * "dr6", "dr7" (8). `ptrace_dbg_register_info` lists the names this machine has. A register
 * in its initial state reads as its initial value. Reads during one stop share one
 * PTRACE_GETREGSET.
 *
 * `*size` is always set (on success and on `PTRACE_DBG_E_BUFFER_TOO_SMALL`) to the register's
 * size; call with `buf` NULL and `cap` 0 to learn it.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_BUFFER_TOO_SMALL` (`cap` < `*size`, nothing copied);
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `name` or `size`, NULL `buf` with `cap` > 0, a name no
 * register has); `PTRACE_DBG_E_NOT_SUPPORTED` (a register this CPU or kernel lacks, e.g.
 * "zmm0" without AVX-512; `*size` is not set); `PTRACE_DBG_E_BAD_STATE` (running or detached);
 * `PTRACE_DBG_E_NO_SUCH_THREAD`; `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`;
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `name` must be NULL or a NUL-terminated string; `buf` NULL or writable for `cap` bytes;
 * `size` NULL or writable.
 */
int ptrace_dbg_read_register(struct ptrace_dbg_process *p,
                             int32_t tid,
                             const char *name,
                             void *buf,
                             size_t cap,
                             size_t *size);

/**
 * Writes register `name` (see `ptrace_dbg_read_register` for the names) of stopped thread
 * `tid` from `size` little-endian bytes, exactly the register's size. The general and the
 * x87/SSE/AVX/AVX-512 registers reach the thread before it runs again (all of one stop in
 * one PTRACE_SETREGS and one PTRACE_SETREGSET); a component written leaves its initial state.
 * Registers the kernel checks are written at once, so a refusal is reported here: the
 * segment selectors and `fs_base`/`gs_base` (`PTRACE_DBG_E_OS`, as `ptrace_dbg_set_regs`) and
 * the debug registers.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `name` or `buf`, a name no
 * register has, `size` not the register's size, an `mxcsr` with reserved bits, a debug
 * register value the kernel refuses); `PTRACE_DBG_E_NOT_SUPPORTED` (a register this CPU or
 * kernel lacks); `PTRACE_DBG_E_OS` (a segment value the kernel refuses);
 * `PTRACE_DBG_E_BAD_STATE`; `PTRACE_DBG_E_NO_SUCH_THREAD`;
 * `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_OS`; `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any
 * thread while stopped.
 *
 * # Safety
 * `name` must be NULL or a NUL-terminated string; `buf` NULL or readable for `size` bytes.
 */
int ptrace_dbg_write_register(struct ptrace_dbg_process *p,
                              int32_t tid,
                              const char *name,
                              const void *buf,
                              size_t size);

/**
 * How many registers `ptrace_dbg_register_info` lists for this process: the names this CPU
 * and kernel have (general, x87, SSE, and as present AVX, AVX-512, PKRU, debug registers).
 *
 * Returns 0 for an invalid handle (and `ptrace_dbg_last_error()` says so). Callable any time
 * from any thread; never waits.
 */
size_t ptrace_dbg_register_count(struct ptrace_dbg_process *p);

/**
 * The name (a static string, never freed) and size in bytes of register `index`, 0 to
 * `ptrace_dbg_register_count(p)` - 1, in a fixed order: the general registers in
 * `ptrace_dbg_regs` order, st0-st7, the x87 control words, mxcsr, xmm0-15, ymm0-15, then with
 * AVX-512 xmm16-31, ymm16-31, zmm0-31, k0-7, then pkru, dr0-3, dr6, dr7. `name` or `size` may
 * be NULL when not wanted.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`index` out of range),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time from any thread; never waits.
 *
 * # Safety
 * `name` and `size` must each be NULL or writable.
 */
int ptrace_dbg_register_info(struct ptrace_dbg_process *p,
                             size_t index,
                             const char **name,
                             size_t *size);

/**
 * Sets a hardware watchpoint on every thread of the process, present and future, and returns
 * its id in `*id` (positive, never reused within this handle).
 *
 * `kind` is `PTRACE_DBG_WATCH_EXECUTE` (then `len` must be 1), `PTRACE_DBG_WATCH_WRITE` or
 * `PTRACE_DBG_WATCH_READ_WRITE`; `len` is 1, 2, 4 or 8 and `addr` must be aligned to it (watch
 * a larger or unaligned variable with several watchpoints). A thread that trips it stops the
 * process (all-stop) with cause `PTRACE_DBG_CAUSE_WATCHPOINT` and state
 * `PTRACE_DBG_STATE_STOPPED_BREAKPOINT`; `ptrace_dbg_watchpoint_hit` then names the watchpoint.
 * Several threads tripping at about the same time each have their own cause at that stop.
 * The CPU has four slots per thread: a fifth watchpoint gets `PTRACE_DBG_E_NO_RESOURCE`.
 *
 * - Only user-mode accesses trigger: a write by the kernel (`read(2)` into a watched buffer,
 *   `ptrace_dbg_poke`) does not stop anything.
 * - An execute watchpoint at the address of a software breakpoint gives one stop, with cause
 *   `PTRACE_DBG_CAUSE_BREAKPOINT` and `ptrace_dbg_watchpoint_hit` naming the watchpoint too.
 * - A single step whose instruction trips a data watchpoint completes and reports the
 *   watchpoint. A step that lands on an execute watchpoint ends there as a step (the
 *   instruction has not run); the next continue or step reports the hit, then goes past it.
 * - exec removes every watchpoint (the address space is gone): their ids are then unknown to
 *   `ptrace_dbg_remove_watchpoint` (`PTRACE_DBG_E_NO_BREAKPOINT`). A child the program forks
 *   runs untrapped (the kernel gives it no debug registers). Detach, kill and free clear
 *   the debug registers of every thread.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (unknown `kind`, bad `len`,
 * unaligned or kernel `addr`, NULL `id`; `ptrace_dbg_last_error()` says which),
 * `PTRACE_DBG_E_NO_RESOURCE` (four are set), `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the
 * process is stopped.
 *
 * # Safety
 * `id` must be NULL or writable.
 */
int ptrace_dbg_add_watchpoint(struct ptrace_dbg_process *p,
                              uint64_t addr,
                              size_t len,
                              int32_t kind,
                              int32_t *id);

/**
 * Removes watchpoint `id` from every thread; its slot is free again.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT` (no watchpoint with that id: never
 * set, already removed, or cleared by an exec), `PTRACE_DBG_E_BAD_STATE` (running or
 * detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
 * while the process is stopped.
 */
int ptrace_dbg_remove_watchpoint(struct ptrace_dbg_process *p, int32_t id);

/**
 * Which watchpoint stopped thread `tid` at this stop: its id in `*id` and its address in
 * `*addr` (`addr` may be NULL). Decoded from the thread's debug status register (DR6), which
 * the library clears after reading. When one access trips several watchpoints, the one in the
 * lowest slot is named. Answers for a thread with cause `PTRACE_DBG_CAUSE_WATCHPOINT`, and for
 * a `PTRACE_DBG_CAUSE_BREAKPOINT` stop at an address that also has an execute watchpoint.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT` (the thread's stop is not a
 * watchpoint hit), `PTRACE_DBG_E_BAD_STATE` (the thread runs, or the process was detached),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL
 * `id`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread; never waits.
 *
 * # Safety
 * `id` must be NULL or writable; `addr` NULL or writable.
 */
int ptrace_dbg_watchpoint_hit(struct ptrace_dbg_process *p,
                              int32_t tid,
                              int32_t *id,
                              uint64_t *addr);

/**
 * Takes the child `pid` that the stopped process created (a thread of it stopped with cause
 * `PTRACE_DBG_CAUSE_FORK`, `cause.new_tid` = `pid`) as a traced process of its own. `*out`
 * receives its handle, which works like any other (all-stop of its own threads, continue,
 * wait_stop, event fd, breakpoints, detach, kill, free; it may follow its own children). It
 * returns stopped at its first instruction after the fork (cause `PTRACE_DBG_CAUSE_STOPPED`).
 *
 * What carries over: after a fork (or clone) every breakpoint of the parent (set in the
 * child's copy of the memory); after a vfork none (the child runs in the parent's memory,
 * from which the parent's breakpoints are taken out until the child execs or exits; the
 * parent itself stays blocked in vfork until then, so continue the child); the follow flags;
 * and what freeing does: the child of a launched process is killed when freed (and dies with
 * the host, PTRACE_O_EXITKILL being inherited), the child of an attached one is detached.
 * An exec by the child reports `PTRACE_DBG_CAUSE_EXEC` on the child's handle, its breakpoints
 * gone with the old program.
 *
 * A child not taken when its parent next runs (continue, step, detach, kill, exit) is let go
 * as without the flag: our breakpoint bytes are taken out of its memory and it runs on
 * untraced. Every child of the family is served by the parent's one monitor thread.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`, or `pid` is not a
 * child offered at this stop: never offered, taken already, or it died before being taken);
 * `PTRACE_DBG_E_INVALID_HANDLE`; `PTRACE_DBG_E_BAD_STATE` (the parent is running or
 * detached); `PTRACE_DBG_E_EXITED`; `PTRACE_DBG_E_TIMEOUT` (the child never made its first
 * stop). Callable from any thread while the parent is stopped.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_take_child(struct ptrace_dbg_process *p,
                          int32_t pid,
                          struct ptrace_dbg_process **out);

/**
 * Sets a tracepoint at `addr`: a thread that executes the instruction there is recorded
 * (registers, time, and memory if `ptrace_dbg_tracepoint_capture` asked) and goes on at once.
 * The hit is handled by the library's monitor thread alone: no other thread stops, no stop is
 * reported, and no host thread is woken except through the event fd, which polls readable
 * while records wait. Read them with `ptrace_dbg_read_records`. When the record buffer is full
 * the hitting thread waits in its stop until records are read: records are never dropped.
 * An ordinary breakpoint can share the address: a hit is then recorded and stops the process
 * as the breakpoint's would. `flags` must be 0. `*id` gets the tracepoint's id (positive).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BREAKPOINT_EXISTS` (a tracepoint is there already),
 * `PTRACE_DBG_E_FAULT` (`addr` not mapped), `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `id`,
 * unknown flags), `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `id` must be NULL or writable.
 */
int ptrace_dbg_add_tracepoint(struct ptrace_dbg_process *p,
                              uint64_t addr,
                              uint32_t flags,
                              int32_t *id);

/**
 * Removes tracepoint `id`; an ordinary breakpoint at its address stays. Records it made stay
 * readable.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no tracepoint with that id),
 * `PTRACE_DBG_E_BAD_STATE` (running or detached), `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 */
int ptrace_dbg_remove_tracepoint(struct ptrace_dbg_process *p, int32_t id);

/**
 * Makes each hit of tracepoint `id` also capture `len` bytes of memory at the address
 * register `reg_index` (as `ptrace_dbg_reg_name` numbers them) + `offset` holds at the hit:
 * the stack's first words (`rsp`, 0), a string argument (`rdi`, 0). At most
 * `PTRACE_DBG_RECORD_DATA_MAX` bytes; `len` 0 captures nothing again.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no such tracepoint, `reg_index`
 * out of range, `len` too long), `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 */
int ptrace_dbg_tracepoint_capture(struct ptrace_dbg_process *p,
                                  int32_t id,
                                  size_t reg_index,
                                  int64_t offset,
                                  size_t len);

/**
 * Takes up to `cap` tracepoint records, oldest first, into `out`; `*n` gets how many. Never
 * blocks: 0 records is a success. Reading makes room for threads waiting on a full buffer.
 * Records stay readable after the process stopped, exited, was killed or detached, until the
 * handle is freed.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `n`, NULL `out` with `cap`
 * above 0), `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from any thread.
 *
 * # Safety
 * `out` must be NULL (with `cap` 0) or point to `cap` writable records; `n` must be NULL or
 * writable.
 */
int ptrace_dbg_read_records(struct ptrace_dbg_process *p,
                            struct ptrace_dbg_record *out,
                            size_t cap,
                            size_t *n);

/**
 * Sets the capacity of the process's record buffer (default
 * `PTRACE_DBG_RECORD_DEFAULT_CAPACITY`): a thread that hits a tracepoint while that many
 * records wait is held until they are read. Records already waiting are kept.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (0, or above
 * `PTRACE_DBG_RECORD_MAX_CAPACITY`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from
 * any thread.
 */
int ptrace_dbg_set_record_capacity(struct ptrace_dbg_process *p, size_t capacity);

/**
 * The counters of the process's record buffer: records made and waiting, how often and how
 * long threads waited for room.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`),
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable any time, from any thread.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_get_record_stats(struct ptrace_dbg_process *p, struct ptrace_dbg_record_stats *out);

/**
 * Gives the ordinary breakpoint at `pc` a condition: a hit stops the process only when
 * register `reg_index` compared by `op` (`PTRACE_DBG_COND_*`) with `value` holds; otherwise
 * the library's monitor thread lets the thread go on without stopping any other.
 * `PTRACE_DBG_COND_NONE` clears it (`reg_index` and `value` are then ignored).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_INVALID_ARGUMENT`
 * (`reg_index` out of range, unknown `op`), `PTRACE_DBG_E_BAD_STATE` (running or detached),
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 */
int ptrace_dbg_set_breakpoint_condition(struct ptrace_dbg_process *p,
                                        uint64_t pc,
                                        size_t reg_index,
                                        int op,
                                        uint64_t value);

/**
 * Makes the next `count` hits of the ordinary breakpoint at `pc` (those whose condition
 * holds, if it has one) go on without stopping, as gdb's `ignore`; 0 stops at every hit
 * again. Decided by the library's monitor thread: an ignored hit stops no other thread.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_NO_BREAKPOINT`, `PTRACE_DBG_E_BAD_STATE` (running or
 * detached), `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread
 * while stopped.
 */
int ptrace_dbg_set_breakpoint_ignore_count(struct ptrace_dbg_process *p,
                                           uint64_t pc,
                                           uint64_t count);

/**
 * Single-steps stopped thread `tid` while its PC stays in `[start, end)`, inside the library
 * (no round trip to the caller per instruction; gdb's `vCont;r`), the other threads staying
 * stopped as with `ptrace_dbg_step`. Returns when the thread's PC leaves the range (the
 * process is then stopped with the thread's cause `PTRACE_DBG_CAUSE_STOPPED`), or earlier at
 * any other stop with its usual cause: a breakpoint inside the range (its instruction not
 * executed, cause `PTRACE_DBG_CAUSE_BREAKPOINT`; tracepoints there only record, breakpoints
 * whose condition is false are passed), a signal, an exit or exec. The first step goes over a
 * breakpoint under the PC. `*steps` (may be NULL) gets the instructions executed.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (`start` >= `end`),
 * `PTRACE_DBG_E_BAD_STATE` (running, detached, the thread is exiting),
 * `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_TIMEOUT` (still
 * stepping after 30 s: it goes on, `ptrace_dbg_wait_stop` sees its end and `ptrace_dbg_stop`
 * ends it), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while stopped.
 *
 * # Safety
 * `steps` must be NULL or writable.
 */
int ptrace_dbg_step_range(struct ptrace_dbg_process *p,
                          int32_t tid,
                          uint64_t start,
                          uint64_t end,
                          uint64_t *steps);

/**
 * Single-steps stopped thread `tid` `n` instructions (at least 1), inside the library, the
 * other threads staying stopped; ends earlier at any stop with its usual cause, as
 * `ptrace_dbg_step_range` (a breakpoint reached after the first step included). `*steps`
 * (may be NULL) gets the instructions executed.
 *
 * Returns as `ptrace_dbg_step_range`; `PTRACE_DBG_E_INVALID_ARGUMENT` for `n` 0.
 *
 * # Safety
 * `steps` must be NULL or writable.
 */
int ptrace_dbg_step_n(struct ptrace_dbg_process *p, int32_t tid, uint64_t n, uint64_t *steps);

/**
 * Stops at the entry and/or exit of the listed system calls, in every thread of the process,
 * present and future (and across exec): `flags` is `PTRACE_DBG_SYSCALL_ENTRY`, `_EXIT` or
 * both; 0 turns tracing off. `numbers` NULL with `count` 0 means every call. Replaces the
 * previous set. A thread at a traced call stops the process (all-stop) with cause
 * `PTRACE_DBG_CAUSE_SYSCALL_ENTRY` or `_EXIT`; several threads can be at one at the same stop,
 * so look at every thread's cause. Calls outside the set never wake the host: they are let
 * go by the library's monitor thread (PTRACE_SYSCALL) or never stop at all (seccomp).
 *
 * What is reported: each call's entry and exit once. `exit`/`exit_group` have no exit (the
 * thread's exit follows); a successful `execve` exits after the `PTRACE_DBG_CAUSE_EXEC` stop,
 * under the leader's tid even when another thread called it; a new thread makes no exit stop
 * for the clone that created it. A call a signal breaks off exits with -ERESTARTSYS (-512) or
 * a relative, then the signal stop, then (if the kernel restarts it) a new entry, as strace
 * shows it; the library's own stops (an all-stop while a thread is blocked in a traced call)
 * are invisible: that call still shows one entry and one exit. `ptrace_dbg_step` runs a call
 * without syscall stops (the kernel makes none for a single step); a breakpoint on a traced
 * `syscall` instruction gives the breakpoint stop, then the entry, then the exit.
 *
 * `PTRACE_DBG_SYSCALL_SECCOMP`: the kernel itself stops only the listed calls, through a
 * seccomp filter returning SECCOMP_RET_TRACE for them. Only for a launched process still at
 * its launch stop (before it first ran), and with a list (not every call); the library makes
 * the program install the filter before its first instruction. A filter cannot be removed:
 * - later sets inside the filter's calls are still filtered by the kernel; a set beyond it,
 *   or tracing turned off, falls back to PTRACE_SYSCALL or stops the filter's calls briefly
 *   in the monitor thread;
 * - `ptrace_dbg_detach` is refused (`PTRACE_DBG_E_BAD_STATE`): untraced, the filter's calls
 *   would fail with ENOSYS. Free or kill it;
 * - the program's fork children inherit the filter: they stay traced by the library, out of
 *   sight, their stops let go as soon as the library's monitor thread sees them (while the
 *   traced process is stopped, at its next continue), and die with the monitor thread when
 *   the launched process is gone (PTRACE_O_EXITKILL);
 * - without CAP_SYS_ADMIN the kernel wants no_new_privs first, which the library then sets in
 *   the program (as strace does): set-user-ID programs it execs no longer gain privileges.
 *
 * Returns `PTRACE_DBG_OK`; `PTRACE_DBG_E_INVALID_ARGUMENT` (unknown flag, SECCOMP alone, a
 * number outside 0..1023, `numbers` NULL with `count` > 0); `PTRACE_DBG_E_BAD_STATE` (running,
 * detached, or SECCOMP when no filter can be installed any more); `PTRACE_DBG_E_EXITED`;
 * `PTRACE_DBG_E_OS` (installing the filter failed); `PTRACE_DBG_E_INVALID_HANDLE`. Callable
 * from any thread while the process is stopped.
 *
 * # Safety
 * `numbers` must be NULL or readable for `count` elements.
 */
int ptrace_dbg_trace_syscalls(struct ptrace_dbg_process *p,
                              const int32_t *numbers,
                              size_t count,
                              uint32_t flags);

/**
 * The system call thread `tid` is stopped at (cause `PTRACE_DBG_CAUSE_SYSCALL_ENTRY` or
 * `_EXIT`), with the changes made by `ptrace_dbg_set_syscall*` at this stop.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (the thread is running, or stopped for
 * another cause), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (NULL `out`), `PTRACE_DBG_E_INVALID_HANDLE`. Callable from
 * any thread while the thread is stopped; never waits.
 *
 * # Safety
 * `out` must be NULL or writable.
 */
int ptrace_dbg_syscall_info(struct ptrace_dbg_process *p,
                            int32_t tid,
                            struct ptrace_dbg_syscall *out);

/**
 * At an entry stop of thread `tid`: changes the call's number and, unless `args` is NULL,
 * its six arguments (rdi, rsi, rdx, r10, r8, r9). `number` -1 skips the call: it does not
 * run, and returns what `ptrace_dbg_set_syscall_return` sets (here or at its exit stop;
 * -ENOSYS if nothing is set). Written through the registers (orig_rax and the argument
 * registers), which every kernel honours.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (not at an entry stop),
 * `PTRACE_DBG_E_INVALID_ARGUMENT` (`number` outside -1..1023), `PTRACE_DBG_E_NO_SUCH_THREAD`,
 * `PTRACE_DBG_E_EXITED`, `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the
 * thread is stopped.
 *
 * # Safety
 * `args` must be NULL or readable for 6 elements.
 */
int ptrace_dbg_set_syscall(struct ptrace_dbg_process *p,
                           int32_t tid,
                           int32_t number,
                           const uint64_t *args);

/**
 * Sets the result the program sees (rax; -errno for a failure, e.g. -EPERM): at an exit
 * stop of thread `tid`, or at the entry stop of a call skipped with number -1.
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_BAD_STATE` (not at an exit stop, or at an entry stop
 * of a call that will run), `PTRACE_DBG_E_NO_SUCH_THREAD`, `PTRACE_DBG_E_EXITED`,
 * `PTRACE_DBG_E_INVALID_HANDLE`. Callable from any thread while the thread is stopped.
 */
int ptrace_dbg_set_syscall_return(struct ptrace_dbg_process *p, int32_t tid, int64_t ret);

/**
 * The name of x86-64 system call `number` ("openat"), from the kernel's
 * arch/x86/entry/syscalls/syscall_64.tbl (Linux 6.18); NULL for a number with no call. The
 * string is static: never free it. Callable any time from any thread.
 */
const char *ptrace_dbg_syscall_name(int32_t number);

/**
 * The number of the x86-64 system call called `name` ("openat" -> 257).
 *
 * Returns `PTRACE_DBG_OK`, `PTRACE_DBG_E_INVALID_ARGUMENT` (no call of that name, NULL `name`
 * or `number`). Callable any time from any thread.
 *
 * # Safety
 * `name` must be NULL or a NUL-terminated string; `number` NULL or writable.
 */
int ptrace_dbg_syscall_number(const char *name, int32_t *number);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* PTRACE_DBG_H */
