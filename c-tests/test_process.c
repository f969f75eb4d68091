/* The process lifecycle and run control through the header, against real processes: attach,
 * launch, detach, kill, free, wait_stop, event_fd, threads, stop causes, exit status; and the
 * answers to bad input. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 10000

/* Runs a launched process to its exit, stepping through whatever stops it on the way. */
static void run_to_exit(ptrace_dbg_process *p) {
    for (int i = 0; i < 1000; i++) {
        int rc = continue_and_wait(p, WAIT_MS, NULL);
        if (rc == PTRACE_DBG_E_EXITED) return;
        CHECK_OK(rc);
    }
    CHECK(!"the process did not exit within 1000 stops");
}

static int poll_readable(int fd, int timeout_ms) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int r;
    do r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r == 1 && (pfd.revents & POLLIN);
}

TEST(attach_stops_every_thread_and_detach_leaves_them_running_untraced) {
    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"threads", "4", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    CHECK_STR_EQ(line, "ready");

    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_attach(child, &p));
    CHECK_EQ_INT(pid_of(p), child);
    int32_t tids[16];
    size_t count = 0;
    CHECK_OK(ptrace_dbg_threads(p, tids, 16, &count));
    CHECK_EQ_INT(count, 5);
    CHECK_EQ_INT(tids[0], child);
    pid_t tasks[16];
    CHECK_EQ_INT(list_tasks(child, tasks, 16), 5);
    for (size_t i = 0; i < count; i++) {
        CHECK_EQ_INT(task_state(child, tids[i]), 't');
        int32_t state = -1;
        CHECK_OK(ptrace_dbg_thread_state(p, tids[i], &state));
        CHECK_EQ_INT(state, PTRACE_DBG_STATE_STOPPED);
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, tids[i], &cause));
        CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_STOPPED);
    }
    CHECK(tracer_pid(child) > 0);

    CHECK_OK(ptrace_dbg_detach(p));
    CHECK_EQ_INT(tracer_pid(child), 0);
    for (size_t i = 0; i < count; i++) {
        /* PTRACE_DETACH has returned for every thread; each leaves its stop at once. Allow it
         * a bounded moment to be scheduled. */
        long long deadline = now_ms() + 2000;
        char state;
        while ((state = task_state(child, tids[i])) == 't' && now_ms() < deadline) {
        }
        CHECK(state != 't' && state != 'T' && state != 0);
    }
    /* After detach the handle still answers, but the process is not ours any more. */
    CHECK_CODE(ptrace_dbg_stop(p), PTRACE_DBG_E_BAD_STATE);
    CHECK_CODE(ptrace_dbg_threads(p, NULL, 0, &count), PTRACE_DBG_E_BAD_STATE);
    ptrace_dbg_process_free(p);
    CHECK_EQ_INT(kill(child, 0), 0); /* free of a detached process left it alone */
    kill_child(child);
}

TEST(attach_errors_name_the_cause) {
    ptrace_dbg_process *p = (ptrace_dbg_process *)0x77;
    CHECK_CODE(ptrace_dbg_attach(-1, &p), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(strstr(ptrace_dbg_last_error(), "pid") != NULL);
    CHECK_CODE(ptrace_dbg_attach(0, &p), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_attach(getpid(), &p), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_attach(0x3fffffff, &p), PTRACE_DBG_E_NO_SUCH_PROCESS);
    CHECK(p == (ptrace_dbg_process *)0x77); /* never written on failure */

    /* A second tracer is refused by the kernel: PERMISSION, naming the other tracer. */
    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"sleeper", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    ptrace_dbg_process *first = NULL;
    CHECK_OK(ptrace_dbg_attach(child, &first));
    CHECK_CODE(ptrace_dbg_attach(child, &p), PTRACE_DBG_E_PERMISSION);
    CHECK(strstr(ptrace_dbg_last_error(), "traced") != NULL);
    ptrace_dbg_process_free(first);
    kill_child(child);
}

TEST(launch_stops_at_the_first_instruction_with_cause_exec) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"exit", "3", NULL});
    pid_t pid = pid_of(p);
    CHECK_EQ_INT(task_state(pid, pid), 't');
    int32_t trigger = -1;
    CHECK_OK(ptrace_dbg_wait_stop(p, 0, &trigger));
    CHECK_EQ_INT(trigger, pid);
    ptrace_dbg_cause cause;
    CHECK_OK(ptrace_dbg_stop_cause(p, pid, &cause));
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_EXEC);
    int32_t code = 0;
    CHECK_CODE(ptrace_dbg_exit_status(p, &code, NULL), PTRACE_DBG_E_BAD_STATE);

    run_to_exit(p);
    int32_t signal = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &signal));
    CHECK_EQ_INT(code, 3);
    CHECK_EQ_INT(signal, 0);
    CHECK_OK(ptrace_dbg_exit_status(p, NULL, NULL));
    /* After the exit only exit_status answers. */
    size_t count = 99;
    CHECK_CODE(ptrace_dbg_threads(p, NULL, 0, &count), PTRACE_DBG_E_EXITED);
    CHECK_CODE(ptrace_dbg_stop(p), PTRACE_DBG_E_EXITED);
    CHECK_CODE(ptrace_dbg_continue(p), PTRACE_DBG_E_EXITED);
    CHECK_CODE(ptrace_dbg_wait_stop(p, -1, NULL), PTRACE_DBG_E_EXITED);
    CHECK_EQ_INT(pid_of(p), pid);
    CHECK(!wait_gone(pid, 0) || kill(pid, 0) != 0); /* reaped by the library */
    ptrace_dbg_process_free(p);
}

/* Launches `tracee ARGS` with `opts` and `envp`, runs it to exit and returns its first stdout
 * line in `line`. */
static void launch_and_read(const char *const *args, const char *const *envp,
                            ptrace_dbg_launch_options *opts, char *line, size_t size) {
    const char *argv[8] = {tracee_path()};
    for (size_t i = 0; args[i]; i++) argv[i + 1] = args[i];
    int fds[2];
    CHECK_EQ_INT(pipe2(fds, O_CLOEXEC), 0);
    opts->stdout_fd = fds[1];
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(argv[0], argv, envp, opts, &p));
    close(fds[1]);
    run_to_exit(p);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 0);
    ptrace_dbg_process_free(p);
    CHECK(read_line(fds[0], line, size, WAIT_MS));
    close(fds[0]);
}

TEST(launch_passes_argv_envp_cwd_and_stdio) {
    ptrace_dbg_launch_options opts;
    char line[4096];

    ptrace_dbg_launch_options_init(&opts);
    const char *const envp[] = {"PTRACE_DBG_TEST_VAR=from envp", "OTHER=1", NULL};
    launch_and_read((const char *const[]){"env", "PTRACE_DBG_TEST_VAR", NULL}, envp, &opts, line,
                    sizeof line);
    CHECK_STR_EQ(line, "from envp");

    setenv("PTRACE_DBG_TEST_VAR", "inherited", 1);
    ptrace_dbg_launch_options_init(&opts);
    launch_and_read((const char *const[]){"env", "PTRACE_DBG_TEST_VAR", NULL}, NULL, &opts, line,
                    sizeof line);
    CHECK_STR_EQ(line, "inherited");

    const char *const no_env[] = {NULL};
    ptrace_dbg_launch_options_init(&opts);
    launch_and_read((const char *const[]){"env", "PTRACE_DBG_TEST_VAR", NULL}, no_env, &opts,
                    line, sizeof line);
    CHECK_STR_EQ(line, "(unset)");

    ptrace_dbg_launch_options_init(&opts);
    opts.cwd = "/";
    launch_and_read((const char *const[]){"cwd", NULL}, NULL, &opts, line, sizeof line);
    CHECK_STR_EQ(line, "/");

    /* stdin from a pipe: the echo mode copies it to stdout. */
    int in[2];
    CHECK_EQ_INT(pipe2(in, O_CLOEXEC), 0);
    CHECK_EQ_INT(write(in[1], "hello stdin\n", 12), 12);
    close(in[1]);
    ptrace_dbg_launch_options_init(&opts);
    opts.stdin_fd = in[0];
    launch_and_read((const char *const[]){"echo", NULL}, NULL, &opts, line, sizeof line);
    CHECK_STR_EQ(line, "hello stdin");
    close(in[0]);

    /* Beyond 0, 1, 2 the program has only what the host passes on (its descriptors without
     * FD_CLOEXEC, e.g. from the shell that ran the tests): nothing of the library's, whose
     * descriptors are all close-on-exec, and none of the test's pipes. */
    ptrace_dbg_launch_options_init(&opts);
    launch_and_read((const char *const[]){"fds", NULL}, NULL, &opts, line, sizeof line);
    if (strcmp(line, "none") != 0) {
        for (char *save = NULL, *item = strtok_r(line, " ", &save); item;
             item = strtok_r(NULL, " ", &save)) {
            int fd = atoi(item), flags = fcntl(fd, F_GETFD);
            if (flags < 0 || (flags & FD_CLOEXEC))
                runner_fail(__FILE__, __LINE__, "descriptor %s leaked into the program", item);
        }
    }
}

TEST(launch_with_argv_null_runs_the_path_alone) {
    /* The tracee without a mode argument prints its usage and exits 64. */
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(devnull >= 0);
    opts.stderr_fd = devnull;
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(tracee_path(), NULL, NULL, &opts, &p));
    close(devnull);
    run_to_exit(p);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 64);
    ptrace_dbg_process_free(p);
}

static unsigned long stack_address(uint32_t flags) {
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    opts.flags = flags;
    char line[128];
    launch_and_read((const char *const[]){"stack_addr", NULL}, NULL, &opts, line, sizeof line);
    return strtoul(line, NULL, 16);
}

TEST(launch_disable_aslr_gives_the_same_addresses_every_run) {
    unsigned long a = stack_address(PTRACE_DBG_LAUNCH_DISABLE_ASLR);
    unsigned long b = stack_address(PTRACE_DBG_LAUNCH_DISABLE_ASLR);
    CHECK(a != 0);
    CHECK_EQ_INT(a, b);
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    int randomize = 0;
    if (f) {
        if (fscanf(f, "%d", &randomize) != 1) randomize = 0;
        fclose(f);
    }
    if (randomize) { /* with ASLR on, three runs without the flag cannot all agree */
        unsigned long c = stack_address(0), d = stack_address(0), e = stack_address(0);
        CHECK(c != d || d != e);
    }
}

TEST(launch_reports_exec_failure_and_bad_options) {
    ptrace_dbg_process *p = (ptrace_dbg_process *)0x77;
    const char *const argv[] = {"x", NULL};
    CHECK_CODE(ptrace_dbg_launch("/nonexistent/program", argv, NULL, NULL, &p), PTRACE_DBG_E_OS);
    CHECK(strstr(ptrace_dbg_last_error(), "execve") != NULL);
    CHECK(strstr(ptrace_dbg_last_error(), "ENOENT") != NULL);
    CHECK_CODE(ptrace_dbg_launch("no-such-program-in-path-xyz", NULL, NULL, NULL, &p),
               PTRACE_DBG_E_OS);
    CHECK(strstr(ptrace_dbg_last_error(), "ENOENT") != NULL);
    /* A directory is not executable: EACCES. */
    CHECK_CODE(ptrace_dbg_launch("/", NULL, NULL, NULL, &p), PTRACE_DBG_E_PERMISSION);
    CHECK(strstr(ptrace_dbg_last_error(), "execve") != NULL);

    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    opts.flags = 0x80;
    CHECK_CODE(ptrace_dbg_launch(tracee_path(), NULL, NULL, &opts, &p),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(strstr(ptrace_dbg_last_error(), "flags") != NULL);
    ptrace_dbg_launch_options_init(&opts);
    opts.stdout_fd = -5;
    CHECK_CODE(ptrace_dbg_launch(tracee_path(), NULL, NULL, &opts, &p),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_launch(NULL, NULL, NULL, NULL, &p), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `path` is NULL");
    CHECK_CODE(ptrace_dbg_launch(tracee_path(), NULL, NULL, NULL, NULL),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `out` is NULL");
    CHECK_CODE(ptrace_dbg_launch("", NULL, NULL, NULL, &p), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(p == (ptrace_dbg_process *)0x77);
}

TEST(wait_stop_times_out_while_running_and_returns_once_stopped) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "0", NULL});
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_CODE(ptrace_dbg_continue(p), PTRACE_DBG_E_BAD_STATE);
    int32_t trigger = -7;
    CHECK_CODE(WITHIN(3, ptrace_dbg_wait_stop(p, 0, &trigger)), PTRACE_DBG_E_TIMEOUT);
    long long start = now_ms();
    CHECK_CODE(WITHIN(3, ptrace_dbg_wait_stop(p, 100, &trigger)), PTRACE_DBG_E_TIMEOUT);
    CHECK(now_ms() - start >= 95);
    CHECK_EQ_INT(trigger, -7);
    CHECK_CODE(WITHIN(3, ptrace_dbg_wait_stop(p, -2, NULL)), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(strstr(ptrace_dbg_last_error(), "timeout_ms") != NULL);
    CHECK_OK(ptrace_dbg_stop(p));
    CHECK_OK(WITHIN(3, ptrace_dbg_wait_stop(p, 0, &trigger)));
    CHECK_EQ_INT(trigger, 0); /* stopped on request */
    CHECK_OK(WITHIN(3, ptrace_dbg_wait_stop(p, -1, NULL)));
    CHECK_OK(ptrace_dbg_kill(p));
    int32_t code = 0, signal = 0;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &signal));
    CHECK_EQ_INT(code, -1);
    CHECK_EQ_INT(signal, SIGKILL);
    CHECK_CODE(WITHIN(3, ptrace_dbg_wait_stop(p, -1, NULL)), PTRACE_DBG_E_EXITED);
    CHECK_CODE(ptrace_dbg_kill(p), PTRACE_DBG_E_EXITED);
    ptrace_dbg_process_free(p);
}

TEST(wait_stop_wakes_a_waiting_thread_with_the_trigger) {
    /* sigusr1 raises SIGUSR1 on itself: wait_stop(-1) returns with the main thread. */
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"sigusr1", NULL});
    pid_t pid = pid_of(p);
    int32_t trigger = 0;
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_wait_stop(p, -1, &trigger));
    CHECK_EQ_INT(trigger, pid);
    ptrace_dbg_process_free(p);
}

TEST(event_fd_is_readable_exactly_while_stopped) {
    /* spin 0: a program that runs without any event of its own. */
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "0", NULL});
    int fd = -1, again = -2;
    CHECK_OK(ptrace_dbg_event_fd(p, &fd));
    CHECK_OK(ptrace_dbg_event_fd(p, &again));
    CHECK(fd >= 0);
    CHECK_EQ_INT(fd, again);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(poll_readable(fd, 0)); /* stopped at launch */
    for (int i = 0; i < 20; i++) {
        CHECK_OK(ptrace_dbg_continue(p));
        CHECK(!poll_readable(fd, 0));
        CHECK(!poll_readable(fd, 20));
        CHECK_OK(ptrace_dbg_stop(p));
        CHECK(poll_readable(fd, 0));
        CHECK_OK(ptrace_dbg_wait_stop(p, 0, NULL));
    }
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_kill(p));
    CHECK(poll_readable(fd, 0)); /* exited: wait_stop returns at once */
    ptrace_dbg_process_free(p);
}

TEST(event_fd_wakes_poll_when_an_event_stops_the_process) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    int fd = -1;
    CHECK_OK(ptrace_dbg_event_fd(p, &fd));
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK(poll_readable(fd, WAIT_MS)); /* the main thread's exit stop */
    int32_t trigger = 0;
    CHECK_OK(ptrace_dbg_wait_stop(p, 0, &trigger));
    ptrace_dbg_cause cause;
    CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_THREAD_EXIT);
    ptrace_dbg_process_free(p);
}

TEST(threads_reports_count_and_buffer_too_small) {
    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"threads", "3", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_attach(child, &p));
    size_t count = 0;
    CHECK_CODE(ptrace_dbg_threads(p, NULL, 0, &count), PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(count, 4);
    int32_t tids[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    count = 0;
    CHECK_CODE(ptrace_dbg_threads(p, tids, 2, &count), PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(count, 4);
    count = 0;
    CHECK_OK(ptrace_dbg_threads(p, tids, 4, &count));
    CHECK_EQ_INT(count, 4);
    CHECK_EQ_INT(tids[0], child);
    pid_t tasks[8];
    CHECK_EQ_INT(list_tasks(child, tasks, 8), 4);
    for (size_t i = 0; i < 4; i++) {
        int found = 0;
        for (size_t j = 0; j < 4; j++) found |= tasks[j] == tids[i];
        CHECK(found);
    }
    CHECK_CODE(ptrace_dbg_threads(p, tids, 8, NULL), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `count` is NULL");
    CHECK_CODE(ptrace_dbg_threads(p, NULL, 3, &count), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `tids` is NULL");
    /* Queries work while it runs, without stopping it. */
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_threads(p, tids, 8, &count));
    CHECK_EQ_INT(count, 4);
    int32_t state = -1;
    CHECK_OK(ptrace_dbg_thread_state(p, child, &state));
    CHECK_EQ_INT(state, PTRACE_DBG_STATE_RUNNING);
    ptrace_dbg_cause cause;
    CHECK_CODE(ptrace_dbg_stop_cause(p, child, &cause), PTRACE_DBG_E_BAD_STATE);
    ptrace_dbg_process_free(p);
    kill_child(child);
}

TEST(stop_causes_thread_create_and_thread_exit) {
    /* clone_exit: one thread is created, exits, is joined; then the process exits 0. */
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"clone_exit", NULL});
    pid_t pid = pid_of(p);
    int32_t new_tid = 0;
    int saw_create = 0, saw_thread_exit = 0, saw_main_exit = 0;
    for (int i = 0; i < 100; i++) {
        int32_t trigger = 0;
        int rc = continue_and_wait(p, WAIT_MS, &trigger);
        if (rc == PTRACE_DBG_E_EXITED) break;
        CHECK_OK(rc);
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
        int32_t tids[8];
        size_t count = 0;
        CHECK_OK(ptrace_dbg_threads(p, tids, 8, &count));
        if (cause.kind == PTRACE_DBG_CAUSE_THREAD_CREATE) {
            CHECK_EQ_INT(trigger, pid);
            new_tid = cause.new_tid;
            CHECK(new_tid > 0 && new_tid != pid);
            CHECK_EQ_INT(count, 2);
            CHECK(tids[0] == pid && tids[1] == new_tid);
            /* The new thread is stopped too (all-stop) and traced from its first instruction. */
            int32_t state = -1;
            CHECK_OK(ptrace_dbg_thread_state(p, new_tid, &state));
            CHECK(state != PTRACE_DBG_STATE_RUNNING);
            CHECK_EQ_INT(task_state(pid, new_tid), 't');
            saw_create++;
        } else if (cause.kind == PTRACE_DBG_CAUSE_THREAD_EXIT && trigger == new_tid) {
            CHECK_EQ_INT(cause.exit_status, 0);
            CHECK_EQ_INT(cause.signal, 0);
            int32_t state = -1;
            CHECK_OK(ptrace_dbg_thread_state(p, new_tid, &state));
            CHECK_EQ_INT(state, PTRACE_DBG_STATE_STOPPED_EXITING);
            uint64_t pc = 0; /* registers are still readable in the exit stop */
            CHECK_OK(ptrace_dbg_get_pc(p, new_tid, &pc));
            CHECK(pc != 0);
            saw_thread_exit++;
        } else if (cause.kind == PTRACE_DBG_CAUSE_THREAD_EXIT && trigger == pid) {
            CHECK_EQ_INT(cause.exit_status, 0);
            saw_main_exit++;
        }
    }
    CHECK_EQ_INT(saw_create, 1);
    CHECK_EQ_INT(saw_thread_exit, 1);
    CHECK_EQ_INT(saw_main_exit, 1);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 0);
    ptrace_dbg_process_free(p);
}

TEST(stop_cause_signal_is_reported_and_delivered_on_continue) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"sigusr1", NULL});
    pid_t pid = pid_of(p);
    int32_t trigger = 0;
    CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
    CHECK_EQ_INT(trigger, pid);
    ptrace_dbg_cause cause;
    CHECK_OK(ptrace_dbg_stop_cause(p, pid, &cause));
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_SIGNAL);
    CHECK_EQ_INT(cause.signal, SIGUSR1);
    int32_t state = -1;
    CHECK_OK(ptrace_dbg_thread_state(p, pid, &state));
    CHECK_EQ_INT(state, PTRACE_DBG_STATE_STOPPED_SIGNAL);
    run_to_exit(p);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 0); /* the handler ran: the signal was delivered */
    ptrace_dbg_process_free(p);
}

TEST(stop_cause_exec_from_a_thread_rebuilds_the_thread_list) {
    ptrace_dbg_process *p = launch_tracee(
        NULL, (const char *const[]){"exec_from_thread", tracee_path(), "exit", "5", NULL});
    pid_t pid = pid_of(p);
    int saw_exec = 0;
    for (int i = 0; i < 100 && !saw_exec; i++) {
        int32_t trigger = 0;
        CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
        ptrace_dbg_cause cause;
        CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
        if (cause.kind != PTRACE_DBG_CAUSE_EXEC) continue;
        saw_exec = 1;
        CHECK_EQ_INT(trigger, pid); /* the exec'ing thread took the leader's tid */
        int32_t tids[8];
        size_t count = 0;
        CHECK_OK(ptrace_dbg_threads(p, tids, 8, &count));
        CHECK_EQ_INT(count, 1);
        CHECK_EQ_INT(tids[0], pid);
    }
    CHECK(saw_exec);
    run_to_exit(p);
    int32_t code = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, NULL));
    CHECK_EQ_INT(code, 5);
    ptrace_dbg_process_free(p);
}

TEST(kill_while_running_ends_with_signal_9_and_reaps) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "3", NULL});
    pid_t pid = pid_of(p);
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_OK(ptrace_dbg_kill(p));
    int32_t code = 0, signal = 0;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &signal));
    CHECK_EQ_INT(code, -1);
    CHECK_EQ_INT(signal, SIGKILL);
    CHECK(kill(pid, 0) != 0 && errno == ESRCH);
    ptrace_dbg_process_free(p);
}

TEST(sigkill_from_outside_gives_exited_with_signal_9) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "2", NULL});
    pid_t pid = pid_of(p);
    CHECK_OK(ptrace_dbg_continue(p));
    CHECK_EQ_INT(kill(pid, SIGKILL), 0);
    int rc = PTRACE_DBG_OK;
    for (int i = 0; i < 100 && rc == PTRACE_DBG_OK; i++) { /* exit stops of each thread */
        rc = ptrace_dbg_wait_stop(p, WAIT_MS, NULL);
        if (rc == PTRACE_DBG_OK) CHECK_OK(ptrace_dbg_continue(p));
    }
    CHECK_CODE(rc, PTRACE_DBG_E_EXITED);
    int32_t signal = 0;
    CHECK_OK(ptrace_dbg_exit_status(p, NULL, &signal));
    CHECK_EQ_INT(signal, SIGKILL);
    ptrace_dbg_process_free(p);
}

TEST(free_kills_a_launched_process_and_detaches_an_attached_one) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "2", NULL});
    pid_t pid = pid_of(p);
    CHECK_OK(ptrace_dbg_continue(p));
    ptrace_dbg_process_free(p);
    CHECK(kill(pid, 0) != 0 && errno == ESRCH); /* killed and reaped */
    CHECK_CODE(ptrace_dbg_pid(p, NULL), PTRACE_DBG_E_INVALID_HANDLE);

    int out;
    pid_t child = spawn_tracee(&out, (const char *const[]){"sleeper", NULL});
    char line[64];
    CHECK(read_line(out, line, sizeof line, WAIT_MS));
    CHECK_OK(ptrace_dbg_attach(child, &p));
    CHECK_OK(ptrace_dbg_continue(p));
    ptrace_dbg_process_free(p);
    CHECK_EQ_INT(tracer_pid(child), 0);
    char state = task_state(child, child);
    CHECK(state != 't' && state != 'T' && state != 0);
    /* It still works: SIGUSR1 makes the sleeper exit 7 (its handler calls _exit(7)). */
    CHECK_EQ_INT(kill(child, SIGUSR1), 0);
    int status = 0;
    CHECK_EQ_INT(waitpid(child, &status, 0), child);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 7)
        runner_fail(__FILE__, __LINE__, "status %#x", status);
}

TEST(double_free_is_a_harmless_no_op_that_sets_last_error) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    ptrace_dbg_process_free(p);
    ptrace_dbg_process_free(p);
    CHECK(strstr(ptrace_dbg_last_error(), "freed") != NULL);
    ptrace_dbg_process_free(NULL);
    int32_t pid = 0;
    CHECK_CODE(ptrace_dbg_pid(p, &pid), PTRACE_DBG_E_INVALID_HANDLE);
}

struct waiter {
    ptrace_dbg_process *p;
    int rc;
    int started;
};

static void *wait_forever(void *arg) {
    struct waiter *w = arg;
    __atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
    w->rc = ptrace_dbg_wait_stop(w->p, -1, NULL);
    return NULL;
}

TEST(free_while_another_thread_waits_releases_the_waiter) {
    for (int round = 0; round < 5; round++) {
        /* spin 0: no event of its own could end the wait first. */
        ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"spin", "0", NULL});
        CHECK_OK(ptrace_dbg_continue(p));
        struct waiter w = {p, 999, 0};
        pthread_t thread;
        CHECK_EQ_INT(pthread_create(&thread, NULL, wait_forever, &w), 0);
        while (!__atomic_load_n(&w.started, __ATOMIC_SEQ_CST)) {
        }
        ptrace_dbg_process_free(p);
        CHECK_EQ_INT(pthread_join(thread, NULL), 0);
        /* In the call already: the kill ends its wait. Not yet: the handle is dead. */
        if (w.rc != PTRACE_DBG_E_EXITED && w.rc != PTRACE_DBG_E_INVALID_HANDLE)
            runner_fail(__FILE__, __LINE__, "the waiter got %d (%s)", w.rc,
                        ptrace_dbg_strerror(w.rc));
    }
}

/* Every function taking a handle, called with `h`, must say INVALID_HANDLE with a text. */
static void check_invalid_handle(ptrace_dbg_process *h) {
    int32_t i32 = 0;
    size_t count = 0;
    uint64_t u64 = 0;
    ptrace_dbg_cause cause;
    ptrace_dbg_regs regs;
    memset(&regs, 0, sizeof regs);
    unsigned char buf[8];
    size_t done = 99;
#define BAD(call)                                                   \
    do {                                                            \
        CHECK_CODE(call, PTRACE_DBG_E_INVALID_HANDLE);              \
        CHECK(ptrace_dbg_last_error()[0] != '\0');                  \
    } while (0)
    BAD(ptrace_dbg_pid(h, &i32));
    BAD(ptrace_dbg_detach(h));
    BAD(ptrace_dbg_kill(h));
    BAD(ptrace_dbg_exit_status(h, &i32, &i32));
    BAD(ptrace_dbg_stop(h));
    BAD(ptrace_dbg_continue(h));
    BAD(ptrace_dbg_wait_stop(h, 0, &i32));
    BAD(ptrace_dbg_wait_stop(h, -1, NULL));
    BAD(ptrace_dbg_event_fd(h, &i32));
    BAD(ptrace_dbg_step(h, 1));
    BAD(ptrace_dbg_threads(h, NULL, 0, &count));
    BAD(ptrace_dbg_thread_state(h, 1, &i32));
    BAD(ptrace_dbg_stop_cause(h, 1, &cause));
    BAD(ptrace_dbg_add_breakpoint(h, 0x1000));
    BAD(ptrace_dbg_remove_breakpoint(h, 0x1000));
    BAD(ptrace_dbg_get_regs(h, 1, &regs));
    BAD(ptrace_dbg_set_regs(h, 1, &regs));
    BAD(ptrace_dbg_get_reg(h, 1, 0, &u64));
    BAD(ptrace_dbg_set_reg(h, 1, 0, 0));
    BAD(ptrace_dbg_get_pc(h, 1, &u64));
    BAD(ptrace_dbg_set_pc(h, 1, 0));
    BAD(ptrace_dbg_get_sp(h, 1, &u64));
    BAD(ptrace_dbg_set_sp(h, 1, 0));
    BAD(ptrace_dbg_peek(h, 1, 0x1000, buf, sizeof buf, &done));
    CHECK_EQ_INT(done, 0);
    done = 99;
    BAD(ptrace_dbg_poke(h, 1, 0x1000, buf, sizeof buf, &done));
    CHECK_EQ_INT(done, 0);
#undef BAD
    if (h != NULL) {
        ptrace_dbg_process_free(h); /* no crash; says why it did nothing */
        CHECK(ptrace_dbg_last_error()[0] != '\0');
    }
}

TEST(null_forged_and_freed_handles_are_invalid_handles) {
    ptrace_dbg_process *freed = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    ptrace_dbg_process_free(freed);
    void *heap = malloc(64);
    memset(heap, 0, 64);
    ptrace_dbg_process *cases[] = {NULL, (ptrace_dbg_process *)0x1,
                                   (ptrace_dbg_process *)0xdeadbeef, (ptrace_dbg_process *)heap,
                                   freed};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_invalid_handle(cases[i]);
    free(heap);
    /* A live handle with its bits changed is no handle either. */
    ptrace_dbg_process *live = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    check_invalid_handle((ptrace_dbg_process *)((uintptr_t)live ^ 1));
    CHECK_OK(ptrace_dbg_pid(live, &(int32_t){0}));
    ptrace_dbg_process_free(live);
}

TEST(null_out_parameters_unknown_tids_and_bad_numbers_are_rejected) {
    ptrace_dbg_process *p = launch_tracee(NULL, (const char *const[]){"exit", "0", NULL});
    pid_t pid = pid_of(p);
#define NULL_ARG(call, name)                                              \
    do {                                                                  \
        CHECK_CODE(call, PTRACE_DBG_E_INVALID_ARGUMENT);                  \
        CHECK_STR_EQ(ptrace_dbg_last_error(), "argument `" name "` is NULL"); \
    } while (0)
    NULL_ARG(ptrace_dbg_pid(p, NULL), "out");
    NULL_ARG(ptrace_dbg_event_fd(p, NULL), "fd");
    NULL_ARG(ptrace_dbg_thread_state(p, pid, NULL), "state");
    NULL_ARG(ptrace_dbg_stop_cause(p, pid, NULL), "out");
    NULL_ARG(ptrace_dbg_get_regs(p, pid, NULL), "out");
    NULL_ARG(ptrace_dbg_set_regs(p, pid, NULL), "in");
    NULL_ARG(ptrace_dbg_get_reg(p, pid, 0, NULL), "value");
    NULL_ARG(ptrace_dbg_get_pc(p, pid, NULL), "pc");
    NULL_ARG(ptrace_dbg_get_sp(p, pid, NULL), "sp");
    NULL_ARG(ptrace_dbg_attach(pid, NULL), "out");
    size_t done = 99;
    NULL_ARG(ptrace_dbg_peek(p, pid, 0x1000, NULL, 8, &done), "buf");
    CHECK_EQ_INT(done, 0);
    NULL_ARG(ptrace_dbg_poke(p, pid, 0x1000, NULL, 8, &done), "buf");
#undef NULL_ARG

    /* Unknown threads. */
    int32_t state;
    ptrace_dbg_cause cause;
    ptrace_dbg_regs regs;
    uint64_t value;
    unsigned char buf[16];
    const int32_t nobody = 0x3ffffff0;
    CHECK_CODE(ptrace_dbg_thread_state(p, nobody, &state), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_CODE(ptrace_dbg_stop_cause(p, nobody, &cause), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_CODE(ptrace_dbg_get_regs(p, nobody, &regs), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_CODE(ptrace_dbg_get_pc(p, -1, &value), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_CODE(ptrace_dbg_step(p, nobody), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_CODE(ptrace_dbg_peek(p, nobody, 0x1000, buf, 8, &done), PTRACE_DBG_E_NO_SUCH_THREAD);
    CHECK_EQ_INT(done, 0);

    /* Numbers out of range. */
    CHECK_CODE(ptrace_dbg_get_reg(p, pid, ptrace_dbg_reg_count(), &value),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(strstr(ptrace_dbg_last_error(), "index") != NULL);
    CHECK_CODE(ptrace_dbg_set_reg(p, pid, (size_t)-1, 0), PTRACE_DBG_E_INVALID_ARGUMENT);
    done = 99;
    CHECK_CODE(ptrace_dbg_peek(p, pid, 0x1000, buf, SIZE_MAX, &done),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK(strstr(ptrace_dbg_last_error(), "len") != NULL);
    CHECK_EQ_INT(done, 0);
    CHECK_CODE(ptrace_dbg_poke(p, pid, 0x1000, buf, (size_t)1 << 63, &done),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_peek(p, pid, UINT64_MAX - 4, buf, 16, &done),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_wait_stop(p, INT32_MIN, NULL), PTRACE_DBG_E_INVALID_ARGUMENT);
    ptrace_dbg_process_free(p);
}
