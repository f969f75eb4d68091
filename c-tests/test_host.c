/* The host rules (issue 3, "The host"): the library installs no signal handler and changes no
 * signal mask, never reaps the host's children, writes nothing to stderr unless
 * PTRACE_DBG_LOG is set, takes its launched processes with it when the host dies, adds at most
 * two threads however many the tracee has, and leaks no descriptors. Each test runs in its own
 * forked child, so the state measured "before" is untouched by other tests. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 10000

/* A full session: a launched program with a breakpoint, its hits, memory, registers, stops, a
 * kill; then an attached program stopped, continued and detached; everything freed. */
static void full_session(void) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"bp_threads", "2", "3", NULL});
    int32_t pid = 0;
    CHECK_OK(ptrace_dbg_pid(p, &pid));
    uint64_t target = symbol_address(pid, tracee_path(), "target_fn");
    CHECK(target != 0);
    CHECK_OK(ptrace_dbg_add_breakpoint(p, target));
    int hits = 0;
    for (int i = 0; i < 200; i++) {
        int rc = continue_and_wait(p, WAIT_MS, NULL);
        if (rc == PTRACE_DBG_E_EXITED) break;
        CHECK_OK(rc);
        /* Threads that hit together are all reported at one stop: look at every thread. */
        int32_t tids[8];
        size_t count = 0;
        int32_t at_breakpoint = 0;
        CHECK_OK(ptrace_dbg_threads(p, tids, 8, &count));
        for (size_t t = 0; t < count; t++) {
            ptrace_dbg_cause cause;
            if (ptrace_dbg_stop_cause(p, tids[t], &cause) != PTRACE_DBG_OK ||
                cause.kind != PTRACE_DBG_CAUSE_BREAKPOINT)
                continue;
            hits++;
            at_breakpoint = tids[t];
            unsigned char code[4];
            CHECK_OK(ptrace_dbg_peek(p, tids[t], target, code, sizeof code, NULL));
            ptrace_dbg_regs regs;
            CHECK_OK(ptrace_dbg_get_regs(p, tids[t], &regs));
        }
        if (hits >= 3 && at_breakpoint) CHECK_OK(ptrace_dbg_step(p, at_breakpoint));
        if (hits >= 4) break;
    }
    CHECK(hits >= 4);
    CHECK_OK(ptrace_dbg_kill(p));
    ptrace_dbg_process_free(p);

    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"threads", "3", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    close(out);
    CHECK_OK(ptrace_dbg_attach(child, &p));
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_stop(p));
    CHECK_OK(ptrace_dbg_detach(p));
    ptrace_dbg_process_free(p);
    kill_child(child);
}

TEST(no_signal_handler_installed_and_no_signal_mask_changed) {
    struct sigaction before[65], after[65];
    int before_rc[65], after_rc[65];
    sigset_t mask_before, mask_after;
    memset(before, 0, sizeof before);
    memset(after, 0, sizeof after);
    for (int sig = 1; sig <= 64; sig++) before_rc[sig] = sigaction(sig, NULL, &before[sig]);
    CHECK_EQ_INT(pthread_sigmask(SIG_BLOCK, NULL, &mask_before), 0);
    full_session();
    for (int sig = 1; sig <= 64; sig++) after_rc[sig] = sigaction(sig, NULL, &after[sig]);
    CHECK_EQ_INT(pthread_sigmask(SIG_BLOCK, NULL, &mask_after), 0);
    for (int sig = 1; sig <= 64; sig++) {
        CHECK_EQ_INT(after_rc[sig], before_rc[sig]);
        if (before_rc[sig] != 0) continue;
        int same_mask = 1; /* member by member: glibc fills only the kernel's part */
        for (int other = 1; other <= 64; other++)
            same_mask &= sigismember(&before[sig].sa_mask, other) ==
                         sigismember(&after[sig].sa_mask, other);
        if (before[sig].sa_handler != after[sig].sa_handler ||
            before[sig].sa_flags != after[sig].sa_flags || !same_mask)
            runner_fail(__FILE__, __LINE__,
                        "the disposition of signal %d (%s) changed: handler %#lx -> %#lx, flags "
                        "%#x -> %#x",
                        sig, ptrace_dbg_signal_name(sig), (unsigned long)(uintptr_t)before[sig].sa_handler,
                        (unsigned long)(uintptr_t)after[sig].sa_handler, (unsigned)before[sig].sa_flags,
                        (unsigned)after[sig].sa_flags);
    }
    for (int sig = 1; sig <= 64; sig++)
        CHECK_EQ_INT(sigismember(&mask_after, sig), sigismember(&mask_before, sig));
}

TEST(the_hosts_own_children_are_never_reaped) {
    pid_t mine = fork();
    CHECK(mine >= 0);
    if (mine == 0) _exit(42);
    /* Let it become a zombie before the session, so any stray wait could take it. */
    long long deadline = now_ms() + WAIT_MS;
    while (task_state(mine, mine) != 'Z' && now_ms() < deadline) {
    }
    CHECK_EQ_INT(task_state(mine, mine), 'Z');
    full_session();
    int status = 0;
    CHECK_EQ_INT(waitpid(mine, &status, WNOHANG), mine);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 42);
}

/* Runs full_session in a child whose stderr is a pipe, with PTRACE_DBG_LOG set to `log` (or
 * unset); returns how many bytes it wrote to stderr. */
static size_t stderr_bytes_of_a_session(const char *log) {
    int fds[2];
    CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        dup2(fds[1], 2);
        if (log)
            setenv("PTRACE_DBG_LOG", log, 1);
        else
            unsetenv("PTRACE_DBG_LOG");
        full_session();
        _exit(0);
    }
    close(fds[1]);
    size_t total = 0;
    char buf[4096];
    long long deadline = now_ms() + 30000;
    for (;;) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) break;
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        total += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    CHECK_EQ_INT(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return total;
}

TEST(nothing_on_stderr_unless_ptrace_dbg_log_is_set) {
    CHECK_EQ_INT(stderr_bytes_of_a_session(NULL), 0);
    CHECK_EQ_INT(stderr_bytes_of_a_session("off"), 0);
    CHECK(stderr_bytes_of_a_session("trace") > 0);
    CHECK(stderr_bytes_of_a_session("debug") > 0);
}

TEST(a_launched_process_dies_with_the_host) {
    int fds[2];
    CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
    pid_t host = fork();
    CHECK(host >= 0);
    if (host == 0) {
        ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "1", NULL});
        CHECK_OK(ptrace_dbg_continue(p));
        int32_t pid = 0;
        CHECK_OK(ptrace_dbg_pid(p, &pid));
        if (write(fds[1], &pid, sizeof pid) != (ssize_t)sizeof pid) _exit(2);
        for (;;) pause();
    }
    close(fds[1]);
    int32_t tracee = 0;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    CHECK_EQ_INT(poll(&pfd, 1, WAIT_MS), 1);
    CHECK_EQ_INT(read(fds[0], &tracee, sizeof tracee), sizeof tracee);
    close(fds[0]);
    CHECK(tracee > 0);
    CHECK_EQ_INT(kill(tracee, 0), 0);
    CHECK_EQ_INT(kill(host, SIGKILL), 0);
    CHECK_EQ_INT(waitpid(host, NULL, 0), host);
    CHECK(wait_gone(tracee, WAIT_MS)); /* PTRACE_O_EXITKILL */
}

TEST_TIMEOUT(tracing_200_threads_adds_at_most_two_host_threads, 120) {
    int before = count_dir("/proc/self/task");
    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"threads", "200", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, 30000));
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_attach(child, &p));
    size_t count = 0;
    CHECK_CODE(ptrace_dbg_threads(p, NULL, 0, &count), PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(count, 201);
    CHECK(count_dir("/proc/self/task") <= before + 2);
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_stop(p));
    CHECK(count_dir("/proc/self/task") <= before + 2);
    ptrace_dbg_process_free(p);
    CHECK_EQ_INT(count_dir("/proc/self/task"), before); /* the monitor is joined by free */
    kill_child(child);
}

TEST(a_full_session_leaks_no_descriptor) {
    int before = count_dir("/proc/self/fd");
    full_session();
    CHECK_EQ_INT(count_dir("/proc/self/fd"), before);
    /* And the launch error paths. */
    ptrace_dbg_process *p = NULL;
    for (int i = 0; i < 3; i++)
        CHECK_CODE(ptrace_dbg_launch("/nonexistent/program", NULL, NULL, NULL, &p),
                   PTRACE_DBG_E_OS);
    CHECK_EQ_INT(count_dir("/proc/self/fd"), before);
}
