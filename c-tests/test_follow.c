/* Following children through the C API (issue 17): set_follow, CAUSE_FORK, take_child, one
 * event fd per process, all driven from one thread with poll(). The Rust tests
 * (tests/follow.rs) cover the other shapes (vfork, spawn, system, pipelines, exec, ...). */
#define _GNU_SOURCE
#include "runner.h"
#include "tracee_util.h"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 20000
#define MAX_PROCS 8

/* build/tracees/family, next to build/tracees/tracee. */
static const char *family_path(void) {
    static char path[PATH_MAX];
    if (!path[0]) {
        const char *t = tracee_path();
        CHECK(strlen(t) + 8 < sizeof path);
        strcpy(path, t);
        strcpy(strrchr(path, '/') + 1, "family");
    }
    return path;
}

struct proc {
    ptrace_dbg_process *p;
    pid_t pid;
    int fd;
    int hits, done;
    int32_t code, sig;
};

static void add_proc(struct proc *procs, size_t *n, ptrace_dbg_process *p) {
    CHECK(*n < MAX_PROCS);
    struct proc *pr = &procs[(*n)++];
    memset(pr, 0, sizeof *pr);
    pr->p = p;
    pr->pid = pid_of(p);
    CHECK_OK(ptrace_dbg_event_fd(p, &pr->fd));
    CHECK_OK(ptrace_dbg_continue(p));
}

TEST(follow_three_children_through_the_c_api_with_event_fds) {
    enum { N = 25 };
    const char *path = family_path();
    const char *argv[] = {"family", "forks", "3", "25", NULL};
    ptrace_dbg_process *root = NULL;
    CHECK_OK(ptrace_dbg_launch(path, argv, NULL, NULL, &root));
    CHECK_CODE(ptrace_dbg_set_follow(root, 4), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_OK(ptrace_dbg_set_follow(root, PTRACE_DBG_FOLLOW_FORK));
    uint64_t hit = symbol_address(pid_of(root), path, "hit");
    CHECK_OK(ptrace_dbg_add_breakpoint(root, hit));

    struct proc procs[MAX_PROCS];
    size_t n = 0;
    add_proc(procs, &n, root);
    long long deadline = now_ms() + WAIT_MS;
    for (size_t live = 1; live > 0;) {
        CHECK(now_ms() < deadline);
        struct pollfd pfds[MAX_PROCS];
        for (size_t i = 0; i < n; i++)
            pfds[i] = (struct pollfd){.fd = procs[i].done ? -1 : procs[i].fd, .events = POLLIN};
        CHECK(poll(pfds, n, 1000) >= 0);
        size_t count = n;
        for (size_t i = 0; i < count; i++) {
            struct proc *pr = &procs[i];
            if (pr->done || !(pfds[i].revents & POLLIN)) continue;
            int rc = ptrace_dbg_wait_stop(pr->p, 0, NULL);
            if (rc == PTRACE_DBG_E_EXITED) {
                CHECK_OK(ptrace_dbg_exit_status(pr->p, &pr->code, &pr->sig));
                pr->done = 1;
                live--;
                continue;
            }
            CHECK_OK(rc);
            int32_t tids[8];
            size_t nt = 0;
            CHECK_OK(ptrace_dbg_threads(pr->p, tids, 8, &nt));
            for (size_t t = 0; t < nt; t++) {
                ptrace_dbg_cause c;
                CHECK_OK(ptrace_dbg_stop_cause(pr->p, tids[t], &c));
                if (c.kind == PTRACE_DBG_CAUSE_BREAKPOINT) pr->hits++;
                if (c.kind == PTRACE_DBG_CAUSE_FORK) {
                    ptrace_dbg_process *child = NULL;
                    CHECK_OK(ptrace_dbg_take_child(pr->p, c.new_tid, &child));
                    CHECK_EQ_INT(pid_of(child), c.new_tid);
                    /* Taken twice: refused. */
                    ptrace_dbg_process *again = NULL;
                    CHECK_CODE(ptrace_dbg_take_child(pr->p, c.new_tid, &again),
                               PTRACE_DBG_E_INVALID_ARGUMENT);
                    /* Stopped at its first instruction, traced by the parent's tracer. */
                    CHECK_EQ_INT(task_state(c.new_tid, c.new_tid), 't');
                    CHECK_EQ_INT(tracer_pid(c.new_tid), tracer_pid(pr->pid));
                    add_proc(procs, &n, child);
                    pr = &procs[i]; /* procs did not move, but keep the pointer honest */
                    live++;
                }
            }
            CHECK_OK(ptrace_dbg_continue(pr->p));
        }
    }
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(procs[0].hits, N);
    CHECK_EQ_INT(procs[0].code, 0); /* every child exited with its own code */
    for (size_t i = 1; i < n; i++) {
        CHECK_EQ_INT(procs[i].hits, N * (int)i);
        CHECK_EQ_INT(procs[i].code, 9 + (int)i);
        CHECK_EQ_INT(procs[i].sig, 0);
    }
    for (size_t i = 0; i < n; i++) ptrace_dbg_process_free(procs[i].p);
}

/* examples/c/trace_pipeline.c (the README's example) on a pipeline of two family processes:
 * the shell and both sides are seen, with their programs and exit codes. */
TEST(trace_pipeline_example_sees_every_process) {
    char cmd[3 * PATH_MAX], path[PATH_MAX];
    strcpy(path, tracee_path());
    strcpy(strrchr(path, '/'), "/../examples/trace_pipeline");
    snprintf(cmd, sizeof cmd, "'%s' \"'%s' hits 2 0 | '%s' hits 1 5\" 2>&1", path,
             family_path(), family_path());
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    char line[PATH_MAX + 128];
    int family_ok = 0, family_five = 0, shell = 0, lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        if (strstr(line, "/family: exit 0")) family_ok++;
        if (strstr(line, "/family: exit 5")) family_five++;
        if (strstr(line, "sh: exit 5")) shell++;
    }
    CHECK_EQ_INT(pclose(f), 0);
    CHECK_EQ_INT(lines, 3);
    CHECK_EQ_INT(family_ok, 1);
    CHECK_EQ_INT(family_five, 1);
    CHECK_EQ_INT(shell, 1);
}
