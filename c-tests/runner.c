/* The test runner: see runner.h. The runner is the host here, so it may wait for any of its
 * children and reaps the orphans a test leaves (it makes itself their subreaper). */
#define _GNU_SOURCE
#include "runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct runner_test *tests;
static size_t test_count;
/* In a test child: where runner_fail writes its message for the parent. */
static int failure_fd = -1;

void runner_register(struct runner_test *test) {
    test->next = tests;
    tests = test;
    test_count++;
}

void runner_fail(const char *file, int line, const char *fmt, ...) {
    char message[4096];
    int n = snprintf(message, sizeof message, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message + n, sizeof message - (size_t)n, fmt, ap);
    va_end(ap);
    if (failure_fd >= 0) {
        ssize_t written = write(failure_fd, message, strlen(message));
        (void)written;
    } else {
        fprintf(stderr, "%s\n", message);
    }
    _exit(1);
}

/* WITHIN's watchdog (in a test child): the armed call's place and deadline, 0 when none. */
static struct {
    const char *file, *what;
    int line, seconds;
    _Atomic long long deadline_ms;
} armed;

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *deadline_watchdog(void *arg) {
    (void)arg;
    for (;;) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
        long long deadline = atomic_load(&armed.deadline_ms);
        if (deadline && mono_ms() > deadline)
            runner_fail(armed.file, armed.line, "%s did not return within %d s", armed.what,
                        armed.seconds);
    }
    return NULL;
}

void runner_deadline_arm(const char *file, int line, int seconds, const char *what) {
    static int started;
    armed.file = file;
    armed.line = line;
    armed.what = what;
    armed.seconds = seconds;
    atomic_store(&armed.deadline_ms, mono_ms() + 1000LL * seconds);
    if (!started) {
        pthread_t t;
        if (pthread_create(&t, NULL, deadline_watchdog, NULL) != 0)
            runner_fail(file, line, "cannot start the deadline watchdog");
        pthread_detach(t);
        started = 1;
    }
}

int runner_deadline_disarm(int result) {
    atomic_store(&armed.deadline_ms, 0);
    return result;
}

static int by_file_and_line(const void *a, const void *b) {
    const struct runner_test *x = *(const struct runner_test *const *)a;
    const struct runner_test *y = *(const struct runner_test *const *)b;
    int files = strcmp(x->file, y->file);
    return files != 0 ? files : x->line - y->line;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reaps the test's killed group (its members are reparented to us, the subreaper), waiting
 * up to 5 s for them to die, then any other orphan already dead. */
static void reap_group(pid_t pgid) {
    double deadline = now_s() + 5;
    while (now_s() < deadline) {
        pid_t reaped = waitpid(-pgid, NULL, WNOHANG);
        if (reaped < 0 && errno != EINTR) break; /* ECHILD: none left */
        if (reaped == 0) {
            struct timespec tick = {0, 1000 * 1000};
            nanosleep(&tick, NULL);
        }
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* Runs one test in a child; returns 1 if it passed, with `why` filled in when it failed. */
static int run_one(const struct runner_test *test, char *why, size_t why_size) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, why_size, "pipe2: %s", strerror(errno));
        return 0;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (child == 0) {
        setpgid(0, 0);
        close(fds[0]);
        failure_fd = fds[1];
        test->body();
        fflush(NULL);
        _exit(0);
    }
    setpgid(child, child); /* also here, so the group exists before we might kill it */
    close(fds[1]);

    int status = 0, timed_out = 0;
    double deadline = now_s() + test->timeout_s;
    for (;;) {
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) break;
        if (done < 0 && errno != EINTR) {
            snprintf(why, why_size, "waitpid: %s", strerror(errno));
            close(fds[0]);
            return 0;
        }
        if (now_s() > deadline) {
            timed_out = 1;
            kill(-child, SIGKILL);
            waitpid(child, &status, 0);
            break;
        }
        struct timespec tick = {0, 2 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    kill(-child, SIGKILL); /* whatever the test left running in its group */
    reap_group(child);

    char message[4096];
    ssize_t n = read(fds[0], message, sizeof message - 1);
    close(fds[0]);
    message[n > 0 ? n : 0] = '\0';

    /* Failures without a CHECK are reported at the test's TEST line. */
    if (timed_out) {
        snprintf(why, why_size, "%s:%d: timed out after %d s", test->file, test->line,
                 test->timeout_s);
    } else if (n > 0) {
        snprintf(why, why_size, "%s", message);
    } else if (WIFSIGNALED(status)) {
        snprintf(why, why_size, "%s:%d: killed by signal %d (%s)", test->file, test->line,
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WEXITSTATUS(status) != 0) {
        snprintf(why, why_size, "%s:%d: exited with status %d", test->file, test->line,
                 WEXITSTATUS(status));
    } else {
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    struct runner_test **sorted = calloc(test_count ? test_count : 1, sizeof *sorted);
    size_t i = 0;
    for (struct runner_test *t = tests; t; t = t->next) sorted[i++] = t;
    qsort(sorted, test_count, sizeof *sorted, by_file_and_line);

    int passed = 0, failed = 0;
    for (i = 0; i < test_count; i++) {
        const struct runner_test *test = sorted[i];
        if (!strstr(test->name, filter)) continue;
        char why[4200];
        if (run_one(test, why, sizeof why)) {
            printf("ok %s\n", test->name);
            passed++;
        } else {
            printf("FAIL %s: %s\n", test->name, why);
            failed++;
        }
    }
    free(sorted);
    if (passed + failed == 0) {
        fprintf(stderr, "no test matches \"%s\"\n", filter);
        failed = 1;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
