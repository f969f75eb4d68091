/* Trace a shell pipeline: every process `sh -c COMMAND` starts is followed (fork, vfork,
 * posix_spawn, exec), and each one's program and exit status is printed.
 *
 *   cc -o trace_pipeline trace_pipeline.c $(pkg-config --cflags --libs ptrace_dbg)
 *   ./trace_pipeline 'seq 3 | wc -l'
 *
 * One thread drives the whole family: poll() on each process's event fd (readable while it is
 * stopped or gone), and at every stop look at each thread's cause. A fork stop offers the new
 * process (cause.new_tid); ptrace_dbg_take_child makes it a handle of its own. */
#define _GNU_SOURCE
#include <limits.h>
#include <poll.h>
#include <ptrace_dbg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX 64

static struct {
    ptrace_dbg_process *p;
    int32_t pid, parent;
    int fd, done;
    char exe[PATH_MAX];
} procs[MAX];
static int nprocs;

static void add(ptrace_dbg_process *p, int32_t parent) {
    if (nprocs == MAX) {
        fprintf(stderr, "more than %d processes\n", MAX);
        exit(1);
    }
    procs[nprocs].p = p;
    procs[nprocs].parent = parent;
    ptrace_dbg_pid(p, &procs[nprocs].pid);
    ptrace_dbg_event_fd(p, &procs[nprocs].fd);
    nprocs++;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "%s: %s (%s)\n", what, ptrace_dbg_strerror(rc), ptrace_dbg_last_error());
    exit(1);
}

static void note_exe(int i) {
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)procs[i].pid);
    ssize_t n = readlink(link, procs[i].exe, sizeof procs[i].exe - 1);
    procs[i].exe[n > 0 ? n : 0] = '\0';
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s 'COMMAND | COMMAND ...'\n", argv[0]);
        return 2;
    }
    const char *sh_argv[] = {"sh", "-c", argv[1], NULL};
    ptrace_dbg_process *root = NULL;
    int rc = ptrace_dbg_launch("/bin/sh", sh_argv, NULL, NULL, &root);
    if (rc != PTRACE_DBG_OK) die("launch", rc);
    if ((rc = ptrace_dbg_set_follow(root, PTRACE_DBG_FOLLOW_FORK)) != PTRACE_DBG_OK)
        die("set_follow", rc);
    add(root, getpid());
    note_exe(0);
    ptrace_dbg_continue(root);

    for (int live = 1; live > 0;) {
        struct pollfd pfd[MAX];
        for (int i = 0; i < nprocs; i++)
            pfd[i] = (struct pollfd){.fd = procs[i].done ? -1 : procs[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)nprocs, 10000) <= 0) {
            fprintf(stderr, "nothing happened for 10 s\n");
            return 1;
        }
        for (int i = 0, n = nprocs; i < n; i++) {
            if (procs[i].done || !(pfd[i].revents & POLLIN)) continue;
            ptrace_dbg_process *p = procs[i].p;
            rc = ptrace_dbg_wait_stop(p, 0, NULL);
            if (rc == PTRACE_DBG_E_EXITED) {
                int32_t code, sig;
                ptrace_dbg_exit_status(p, &code, &sig);
                printf("pid %d (parent %d) %s: %s %d\n", (int)procs[i].pid,
                       (int)procs[i].parent, procs[i].exe, sig ? "killed by signal" : "exit",
                       sig ? (int)sig : (int)code);
                procs[i].done = 1;
                live--;
                continue;
            }
            if (rc != PTRACE_DBG_OK) die("wait_stop", rc);
            int32_t tids[64];
            size_t count = 0;
            ptrace_dbg_threads(p, tids, 64, &count);
            for (size_t t = 0; t < count; t++) {
                ptrace_dbg_cause cause;
                if (ptrace_dbg_stop_cause(p, tids[t], &cause) != PTRACE_DBG_OK) continue;
                if (cause.kind == PTRACE_DBG_CAUSE_EXEC) note_exe(i);
                if (cause.kind == PTRACE_DBG_CAUSE_FORK) {
                    ptrace_dbg_process *child = NULL;
                    rc = ptrace_dbg_take_child(p, cause.new_tid, &child);
                    if (rc != PTRACE_DBG_OK) die("take_child", rc);
                    add(child, procs[i].pid);
                    note_exe(nprocs - 1);
                    ptrace_dbg_continue(child);
                    live++;
                }
            }
            ptrace_dbg_continue(p);
        }
    }
    for (int i = 0; i < nprocs; i++) ptrace_dbg_process_free(procs[i].p);
    return 0;
}
