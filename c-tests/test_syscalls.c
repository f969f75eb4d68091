/* System-call stops through the C API: exact counts from four threads (with and without the
 * seccomp filter), a changed result the program checks, names and numbers. The tracee is
 * build/tracees/syscalls (c-tests/tracees/syscalls.c). */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 20000

/* build/tracees/syscalls, next to build/tracees/tracee. */
static const char *syscalls_tracee(void) {
    static char path[PATH_MAX];
    const char *t = tracee_path();
    CHECK(strlen(t) + 16 < sizeof path);
    strcpy(path, t);
    strcpy(strrchr(path, '/') + 1, "syscalls");
    CHECK(access(path, X_OK) == 0);
    return path;
}

static ptrace_dbg_process *launch_syscalls(int *out_fd, const char *const *args) {
    const char *argv[8] = {syscalls_tracee()};
    for (int i = 0; args[i] && i < 6; i++) argv[i + 1] = args[i];
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0);
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    opts.stdout_fd = fds[1];
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(argv[0], argv, NULL, &opts, &p));
    close(fds[1]);
    *out_fd = fds[0];
    return p;
}

/* Runs "count N" with getppid and write traced; counts every thread's stops. */
static void exact_counts(uint32_t extra_flags) {
    enum { N = 100 };
    int out;
    ptrace_dbg_process *p = launch_syscalls(&out, (const char *const[]){"count", "100", NULL});
    int32_t nrs[2];
    CHECK_OK(ptrace_dbg_syscall_number("getppid", &nrs[0]));
    CHECK_OK(ptrace_dbg_syscall_number("write", &nrs[1]));
    CHECK_OK(ptrace_dbg_trace_syscalls(
        p, nrs, 2, PTRACE_DBG_SYSCALL_ENTRY | PTRACE_DBG_SYSCALL_EXIT | extra_flags));
    long entries[2] = {0}, exits[2] = {0}, bad = 0;
    long long deadline = now_ms() + 60000;
    for (;;) {
        CHECK(now_ms() < deadline);
        int rc = continue_and_wait(p, WAIT_MS, NULL);
        if (rc == PTRACE_DBG_E_EXITED) break;
        CHECK_OK(rc);
        int32_t tids[16];
        size_t n = 0;
        CHECK_OK(ptrace_dbg_threads(p, tids, 16, &n));
        for (size_t i = 0; i < n; i++) {
            ptrace_dbg_cause c;
            if (ptrace_dbg_stop_cause(p, tids[i], &c) != PTRACE_DBG_OK) continue;
            if (c.kind != PTRACE_DBG_CAUSE_SYSCALL_ENTRY && c.kind != PTRACE_DBG_CAUSE_SYSCALL_EXIT)
                continue;
            ptrace_dbg_syscall s;
            CHECK_OK(ptrace_dbg_syscall_info(p, tids[i], &s));
            CHECK_EQ_INT(s.is_exit, c.kind == PTRACE_DBG_CAUSE_SYSCALL_EXIT);
            int which = s.number == nrs[0] ? 0 : s.number == nrs[1] ? 1 : -1;
            if (which < 0) {
                bad++;
                continue;
            }
            if (s.is_exit) {
                exits[which]++;
                if (which == 1 && s.ret != (int64_t)s.args[2]) bad++;
                if (which == 0 && s.ret != getpid()) bad++;
            } else {
                entries[which]++;
            }
        }
    }
    int32_t code = -1, sig = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &sig));
    CHECK_EQ_INT(code, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(entries[0], 4 * N);
    CHECK_EQ_INT(exits[0], 4 * N);
    CHECK_EQ_INT(entries[1], 4 * N);
    CHECK_EQ_INT(exits[1], 4 * N);
    close(out);
    ptrace_dbg_process_free(p);
}

TEST(syscall_counts_are_exact_from_four_threads) {
    exact_counts(0);
}

TEST(syscall_counts_are_exact_with_the_seccomp_filter) {
    exact_counts(PTRACE_DBG_SYSCALL_SECCOMP);
}

TEST(syscall_result_changed_is_what_the_program_sees) {
    int out;
    ptrace_dbg_process *p =
        launch_syscalls(&out, (const char *const[]){"change", "/nonexistent/x", "/dev/null", NULL});
    int32_t getpid_nr = 39;
    CHECK_OK(ptrace_dbg_trace_syscalls(p, &getpid_nr, 1, PTRACE_DBG_SYSCALL_EXIT));
    int changed = 0;
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        CHECK(now_ms() < deadline);
        int32_t tid = 0;
        int rc = continue_and_wait(p, WAIT_MS, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        CHECK_OK(rc);
        ptrace_dbg_syscall s;
        if (ptrace_dbg_syscall_info(p, tid, &s) != PTRACE_DBG_OK) continue;
        CHECK_EQ_INT(s.number, 39);
        CHECK_EQ_INT(s.is_exit, 1);
        CHECK_EQ_INT(s.ret, pid_of(p));
        CHECK_OK(ptrace_dbg_set_syscall_return(p, tid, 777));
        /* A result cannot be set at an exit twice wrongly: it is simply replaced. */
        CHECK_OK(ptrace_dbg_syscall_info(p, tid, &s));
        CHECK_EQ_INT(s.ret, 777);
        CHECK_EQ_INT(ptrace_dbg_set_syscall(p, tid, -1, NULL), PTRACE_DBG_E_BAD_STATE);
        changed++;
    }
    CHECK_EQ_INT(changed, 1);
    char line[128];
    CHECK(read_line(out, line, sizeof line, WAIT_MS)); /* unlinkat */
    CHECK(read_line(out, line, sizeof line, WAIT_MS)); /* openat */
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    CHECK(strncmp(line, "getpid=777 ", 11) == 0);
    close(out);
    ptrace_dbg_process_free(p);
}

TEST(syscall_names_come_from_the_kernel_table) {
    CHECK(strcmp(ptrace_dbg_syscall_name(0), "read") == 0);
    CHECK(strcmp(ptrace_dbg_syscall_name(59), "execve") == 0);
    CHECK(strcmp(ptrace_dbg_syscall_name(231), "exit_group") == 0);
    CHECK(strcmp(ptrace_dbg_syscall_name(435), "clone3") == 0);
    CHECK(ptrace_dbg_syscall_name(400) == NULL);
    int known = 0;
    for (int32_t n = 0; n < 1024; n++) {
        const char *name = ptrace_dbg_syscall_name(n);
        if (!name) continue;
        known++;
        int32_t back = -1;
        CHECK_OK(ptrace_dbg_syscall_number(name, &back));
        CHECK_EQ_INT(back, n);
    }
    CHECK(known > 370);
}
