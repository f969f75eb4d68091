/* Helpers the C tests share: finding and starting the tracee program, reading its output with
 * timeouts, looking at /proc, and resolving a symbol of the tracee to its run-time address
 * (ELF64 symbol table plus the load base from /proc/PID/maps). Every wait here is bounded. */
#ifndef PTRACE_DBG_TRACEE_UTIL_H
#define PTRACE_DBG_TRACEE_UTIL_H

#include "ptrace_dbg.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The pid of a traced process; fails the test on error. */
pid_t pid_of(ptrace_dbg_process *p);

/* build/tracees/tracee, found next to the test binary (build/c-tests/..). */
const char *tracee_path(void);

/* Starts the tracee untraced (fork + exec) with argv {tracee, args..., NULL}; its stdout goes
 * to a pipe whose read end is *out_fd (CLOEXEC). Returns its pid. */
pid_t spawn_tracee(int *out_fd, const char *const *args);

/* Reads one line (without the newline) from fd within timeout_ms; 1 if read, 0 on timeout or
 * EOF. Reads byte by byte so nothing after the line is consumed. */
int read_line(int fd, char *buf, size_t size, int timeout_ms);

/* Kills and reaps an untraced child started by spawn_tracee (no-op for pid <= 0). */
void kill_child(pid_t pid);

/* Launches the tracee traced with argv {tracee, args..., NULL}; its stdout goes to a pipe whose
 * read end is *out_fd when out_fd is not NULL, else to /dev/null. Fails the test on error. */
ptrace_dbg_process *launch_tracee(int *out_fd, const char *const *args);

/* Continues the process and waits (up to timeout_ms) for the next stop; returns the code of
 * ptrace_dbg_wait_stop, the trigger in *trigger. */
int continue_and_wait(ptrace_dbg_process *p, int timeout_ms, int32_t *trigger);

/* The state letter of /proc/PID/task/TID/stat ('R', 'S', 't', ...), or 0 if unreadable. */
char task_state(pid_t pid, pid_t tid);

/* TracerPid from /proc/PID/status, or -1 if unreadable. */
long tracer_pid(pid_t pid);

/* The tids in /proc/PID/task (up to cap); returns how many there are. */
size_t list_tasks(pid_t pid, pid_t *tids, size_t cap);

/* Entries in a directory, "." and ".." not counted (for /proc/self/fd and /proc/self/task). */
int count_dir(const char *path);

/* Waits until process pid no longer runs (it exited or is a zombie), using a pidfd; 1 if it
 * is gone within timeout_ms. */
int wait_gone(pid_t pid, int timeout_ms);

/* The run-time address of symbol `name` of the ELF file `path` mapped in process pid: its
 * st_value from SHT_SYMTAB, moved by the load base (lowest mapping of `path` in
 * /proc/PID/maps, minus the lowest PT_LOAD address). 0 if not found. */
uint64_t symbol_address(pid_t pid, const char *path, const char *name);

/* The size of symbol `name` of `path` (st_size), 0 if not found. */
uint64_t symbol_size(const char *path, const char *name);

/* Milliseconds on the monotonic clock. */
long long now_ms(void);

#endif
