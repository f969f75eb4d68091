/* The benchmark harness of ptrace_dbg (bench/README.md has the whole story).
 *
 *   bench [--pass NAME] [--json PATH] [--bin DIR] [--rounds R] [--hits N] [--steps N]
 *         [--mem-mib M] [--peekdata-mib M] [--small N] [--threads N] [--gdb-hits N]
 *         [--gdb-rounds R] [--no-gdb] [--only 1,3,...] [--smoke] [--sys-rounds R]
 *         [--sys-getpid G] [--sys-write W] [--sys-all N]
 *
 * --smoke (bench/run.sh smoke, part of make test): tiny counts check the harness, not speed;
 * the table says so and shows "(smoke)" instead of yes/NO in the "met" column.
 *
 * One pass: every workload, library and raw-ptrace baseline alternately, R rounds (the
 * order flips every round). The library side runs here, through <ptrace_dbg.h>, as users
 * would; the baseline is DIR/bench-baseline (bench/baseline.c), a separate single-threaded
 * tracer, run as a child with a deadline. The tracee is DIR/bench-target (bench/target.c).
 * Figures are rates (work per second), so every ratio is library/baseline and >1 means the
 * library is faster; workload 5 compares times, turned into the same rate sense
 * (baseline time / library time). Prints a table and writes the same figures as JSON.
 * run.sh runs two passes: as is, then under `taskset -c 0`.
 *
 * Never hangs: every ptrace_dbg_wait_stop has a timeout, every child (baseline, gdb, the
 * thread target) runs under a deadline and is SIGKILLed and reaped past it, and the library
 * kills what it launched when the handle is freed. Exit status 0 when every workload ran
 * (whatever the speed), 1 when one failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>
#include <ptrace_dbg.h>

#include "target_addrs.h"

#define WAIT_MS 20000      /* longest wait for one stop of the library */
#define CHILD_DEADLINE 300 /* seconds a baseline or gdb run may take */
#define MAX_ROUNDS 64
#define EXTRA_BPS 1000   /* workload 2 */
#define EXTRA_BP_OFFSET 16 /* first one at bench_unused + 16: inside the nop sled */

static struct {
    const char *pass, *json, *bin, *only;
    int rounds, gdb_rounds, gdb, smoke;
    long hits, steps, mem_mib, peekdata_mib, small, threads, gdb_hits, lookups, forks;
    int sys_rounds;
    long sys_getpid, sys_write, sys_all;
} opt = {"unpinned", "build/bench/results-unpinned.json", "build/bench", NULL, 5, 3, 1, 0,
         20000, 100000, 64, 4, 20000, 1000, 10000, 100000, 1000, 3, 1000000, 1000, 20000};

/* --only 1,3,10: the workloads to run (for profiling one of them); all by default. Ids are
 * whole numbers, so 1 does not select 10. Taken: 1-6 (core), 7 out-of-line step-over,
 * 8 system calls, 9 symbols, 10 watchpoints, 11 followed children, 12 tracepoints. */
static int wanted(const char *w) {
    if (!opt.only) return 1;
    size_t n = strlen(w);
    for (const char *s = opt.only; *s;) {
        size_t len = strcspn(s, ",");
        if (len == n && strncmp(s, w, n) == 0) return 1;
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

static char target_path[4096], baseline_path[4096];
static int failures;

/* ---------------------------------------------------------------- small helpers */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

/* A library call that must succeed; on failure: report and goto out. */
#define LIB(call)                                                                             \
    do {                                                                                      \
        int rc_ = (call);                                                                     \
        if (rc_ != PTRACE_DBG_OK) {                                                           \
            fail("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, ptrace_dbg_strerror(rc_),     \
                 ptrace_dbg_last_error());                                                    \
            goto out;                                                                         \
        }                                                                                     \
    } while (0)

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values; NAN if none. */
static double median(const double *v, int n) {
    double s[MAX_ROUNDS];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s[m++] = v[i];
    if (m == 0) return NAN;
    qsort(s, (size_t)m, sizeof s[0], cmp_double);
    return m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2;
}

static int count_tasks(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* A "Field:  value" line of /proc/PID/status, as a number (kB for VmRSS); -1 if absent. */
static long status_field(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = atol(line + len + 1);
            break;
        }
    fclose(f);
    return v;
}

/* Runs argv with stdout and stderr into a pipe, at most deadline_s seconds (then SIGKILL to
 * its process group), and reaps it. out gets the output (NUL-terminated, truncated to cap).
 * Returns the wait status, or -1 if it could not run or ran out of time. */
static int run_child(char *const argv[], int deadline_s, char *out, size_t cap) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0) dup2(null, 0);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    size_t len = 0;
    int timed_out = 0;
    double end = now() + deadline_s;
    for (;;) {
        int left = (int)((end - now()) * 1000);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char tmp[4096];
        ssize_t got = read(fds[0], tmp, sizeof tmp);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        size_t take = (size_t)got < cap - 1 - len ? (size_t)got : cap - 1 - len;
        memcpy(out + len, tmp, take);
        len += take;
    }
    out[len] = 0;
    close(fds[0]);
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        fail("%s %s: no answer within %d s, killed", argv[0], argv[1] ? argv[1] : "",
             deadline_s);
        return -1;
    }
    return st;
}

/* Runs the baseline; parses "ok A B C". Returns 0 on success. */
static int baseline(const char *mode, const char *arg, long n, double *a, double *b, double *c) {
    char count[32], out[8192];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {baseline_path, (char *)mode, (char *)arg, n >= 0 ? count : NULL, NULL};
    int st = run_child(argv, CHILD_DEADLINE, out, sizeof out);
    double x = NAN, y = NAN, z = NAN;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        sscanf(out, "ok %lf %lf %lf", &x, &y, &z) < 2) {
        fail("baseline %s failed (status 0x%x): %s", mode, st, out);
        return -1;
    }
    *a = x, *b = y;
    if (c) *c = z;
    return 0;
}

static ptrace_dbg_process *launch(const char *mode, long n) {
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    const char *argv[] = {target_path, mode, n >= 0 ? count : NULL, NULL};
    ptrace_dbg_process *p = NULL;
    int rc = ptrace_dbg_launch(target_path, argv, NULL, NULL, &p);
    if (rc != PTRACE_DBG_OK) {
        fail("ptrace_dbg_launch %s: %s (%s)", target_path, ptrace_dbg_strerror(rc),
             ptrace_dbg_last_error());
        return NULL;
    }
    return p;
}

/* wait_stop with the harness timeout; tid of the trigger. */
static int wait_stop(ptrace_dbg_process *p, int32_t *tid) {
    return ptrace_dbg_wait_stop(p, WAIT_MS, tid);
}

/* ---------------------------------------------------------------- library sides */

/* Workloads 1 and 2: n hits of the breakpoint on bench_hit, each wait_stop + get_pc +
 * continue, with `extra` other breakpoints in bench_unused. Hits per second, NAN on failure. */
static double lib_bp(long n, int extra) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("loop", n);
    if (!p) return NAN;
    int32_t tid = 0, code = -2, sig = -2;
    uint64_t pc = 0;
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_HIT_ADDR));
    for (int i = 0; i < extra; i++)
        LIB(ptrace_dbg_add_breakpoint(p, BENCH_UNUSED_ADDR + EXTRA_BP_OFFSET + (uint64_t)i));

    double t0 = now();
    LIB(ptrace_dbg_continue(p));
    for (long i = 0; i < n; i++) {
        LIB(wait_stop(p, &tid));
        LIB(ptrace_dbg_get_pc(p, tid, &pc));
        if (pc != BENCH_HIT_ADDR) {
            fail("library: hit %ld stopped at %#llx", i, (unsigned long long)pc);
            goto out;
        }
        if (i == n - 1) break; /* the clock stops at the last hit, as in baseline.c */
        LIB(ptrace_dbg_continue(p));
    }
    double t = now() - t0;

    /* Run it to its end: the stops left are its thread's exit (cause THREAD_EXIT). */
    for (int left = 8;; left--) {
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_continue(p));
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind == PTRACE_DBG_CAUSE_BREAKPOINT || left == 0) {
            fail("library: after %ld hits, a stop of kind %d instead of the exit", n,
                 (int)cause.kind);
            goto out;
        }
    }
    LIB(ptrace_dbg_exit_status(p, &code, &sig));
    if (code != 0) {
        fail("library: the loop target exited %d (signal %d)", code, sig);
        goto out;
    }
    rate = (double)n / t;
out:
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 7: n hits of a breakpoint on the call in bench_call (not executed in place: the
 * library steps over it out of line, or with PTRACE_DBG_NO_OUT_OF_LINE set, the old way:
 * breakpoint lifted, single step, others held), `spinners` other threads spinning. Each hit:
 * wait_stop + get_pc + continue. Hits per second, NAN on failure. */
static double lib_call(long n, long spinners) {
    double rate = NAN;
    char count[32], spin[32];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(spin, sizeof spin, "%ld", spinners);
    const char *argv[] = {target_path, "calls", count, spin, NULL};
    ptrace_dbg_process *p = NULL;
    int32_t tid = 0, code = -2, sig = -2;
    uint64_t pc = 0;
    LIB(ptrace_dbg_launch(target_path, argv, NULL, NULL, &p));
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_CALL_SITE_ADDR));
    double t0 = now();
    long hits = 0;
    while (hits < n) {
        LIB(ptrace_dbg_continue(p));
        LIB(wait_stop(p, &tid));
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind != PTRACE_DBG_CAUSE_BREAKPOINT) continue; /* a spinner's creation */
        LIB(ptrace_dbg_get_pc(p, tid, &pc));
        if (pc != BENCH_CALL_SITE_ADDR) {
            fail("library: call hit %ld stopped at %#llx", hits, (unsigned long long)pc);
            goto out;
        }
        hits++;
    }
    double t = now() - t0;
    for (int left = 16 + (int)spinners;; left--) {
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_continue(p));
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind == PTRACE_DBG_CAUSE_BREAKPOINT || left == 0) {
            fail("library: after %ld call hits, a stop of kind %d", n, (int)cause.kind);
            goto out;
        }
    }
    LIB(ptrace_dbg_exit_status(p, &code, &sig));
    if (code != 0) {
        fail("library: the calls target exited %d (signal %d)", code, sig);
        goto out;
    }
    rate = (double)n / t;
out:
    if (p) ptrace_dbg_process_free(p);
    return rate;
}

/* lib_call in a child process with PTRACE_DBG_NO_OUT_OF_LINE set (the library reads it once
 * per process): the old lift-and-step, for comparison. */
static double lib_call_lifted(long n, long spinners) {
    char count[32], spin[32], out[4096];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(spin, sizeof spin, "%ld", spinners);
    char *argv[] = {"/proc/self/exe", "--call-child", count, spin, "lift", "--bin",
                    (char *)opt.bin, NULL};
    int st = run_child(argv, CHILD_DEADLINE, out, sizeof out);
    double rate = NAN;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || sscanf(out, "ok %lf", &rate) != 1) {
        fail("lift-and-step child failed (status 0x%x): %s", st, out);
        return NAN;
    }
    return rate;
}

/* Workload 9: n hits of a write watchpoint on bench_counter (bench_hit increments it), each
 * wait_stop + get_pc + continue, as workload 1 does for its breakpoint. Hits per second. */
static double lib_watch(long n) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("loop", n);
    if (!p) return NAN;
    int32_t tid = 0, code = -2, sig = -2, id = 0;
    uint64_t pc = 0;
    LIB(ptrace_dbg_add_watchpoint(p, BENCH_COUNTER_ADDR, 8, PTRACE_DBG_WATCH_WRITE, &id));

    double t0 = now();
    LIB(ptrace_dbg_continue(p));
    for (long i = 0; i < n; i++) {
        LIB(wait_stop(p, &tid));
        LIB(ptrace_dbg_get_pc(p, tid, &pc));
        /* A data watchpoint traps after the store: the pc is inside bench_hit. */
        if (pc <= BENCH_HIT_ADDR || pc > BENCH_HIT_ADDR + 64) {
            fail("library: watchpoint hit %ld stopped at %#llx", i, (unsigned long long)pc);
            goto out;
        }
        if (i == n - 1) break;
        LIB(ptrace_dbg_continue(p));
    }
    double t = now() - t0;

    for (int left = 8;; left--) {
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_continue(p));
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind == PTRACE_DBG_CAUSE_WATCHPOINT || left == 0) {
            fail("library: after %ld watchpoint hits, a stop of kind %d instead of the exit", n,
                 (int)cause.kind);
            goto out;
        }
    }
    LIB(ptrace_dbg_exit_status(p, &code, &sig));
    if (code != 0) {
        fail("library: the loop target exited %d (signal %d)", code, sig);
        goto out;
    }
    rate = (double)n / t;
out:
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 3: n single-steps of the thread in bench_spin. Steps per second. */
static double lib_step(long n) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("spin", -1);
    if (!p) return NAN;
    int32_t tid = 0;
    uint64_t pc = 0;
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_SPIN_ADDR));
    LIB(ptrace_dbg_continue(p));
    LIB(wait_stop(p, &tid));
    LIB(ptrace_dbg_remove_breakpoint(p, BENCH_SPIN_ADDR));
    double t0 = now();
    for (long i = 0; i < n; i++) LIB(ptrace_dbg_step(p, tid));
    double t = now() - t0;
    LIB(ptrace_dbg_get_pc(p, tid, &pc));
    if (pc < BENCH_SPIN_ADDR || pc >= BENCH_SPIN_ADDR + 32) {
        fail("library: stepping left bench_spin (pc %#llx)", (unsigned long long)pc);
        goto out;
    }
    rate = (double)n / t;
out:
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 12: n hits of a tracepoint on bench_hit in `target idle n idle`; the records are
 * read through the event fd as they come (thread births and ends, all-stop events, are
 * continued). The rate is taken from the records' own timestamps, first hit to last, so the
 * start-up of the idle threads is not in it. Hits per second, NAN on failure. */
static double lib_tracepoint(long n, long idle) {
    double rate = NAN;
    char count[32], nidle[32];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(nidle, sizeof nidle, "%ld", idle);
    const char *argv[] = {target_path, "idle", count, nidle, NULL};
    ptrace_dbg_process *p = NULL;
    ptrace_dbg_record *recs = malloc(4096 * sizeof *recs);
    if (!recs) return NAN;
    LIB(ptrace_dbg_launch(target_path, argv, NULL, NULL, &p));
    int32_t id = 0, fd = -1, tid = 0, code = -2;
    LIB(ptrace_dbg_add_tracepoint(p, BENCH_HIT_ADDR, 0, &id));
    LIB(ptrace_dbg_event_fd(p, &fd));
    LIB(ptrace_dbg_continue(p));
    long got = 0;
    uint64_t first = 0, last = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, WAIT_MS) != 1) {
            fail("library: no record or stop within %d ms (%ld records)", WAIT_MS, got);
            goto out;
        }
        size_t k = 0;
        LIB(ptrace_dbg_read_records(p, recs, 4096, &k));
        for (size_t i = 0; i < k; i++) {
            if (recs[i].pc != BENCH_HIT_ADDR || recs[i].id != id) {
                fail("library: a record of %#llx", (unsigned long long)recs[i].pc);
                goto out;
            }
            if (got == 0) first = recs[i].time_ns;
            last = recs[i].time_ns;
            got++;
        }
        if (k > 0) continue;
        int rc = ptrace_dbg_wait_stop(p, 0, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        if (rc == PTRACE_DBG_E_TIMEOUT) continue;
        LIB(rc);
        LIB(ptrace_dbg_continue(p));
    }
    size_t k = 0;
    LIB(ptrace_dbg_read_records(p, recs, 4096, &k));
    got += (long)k;
    LIB(ptrace_dbg_exit_status(p, &code, NULL));
    if (code != 0 || got != n || last <= first) {
        fail("library: %ld records of %ld hits, exit %d", got, n, code);
        goto out;
    }
    rate = (double)(n - 1) / ((double)(last - first) / 1e9);
out:
    free(recs);
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 12e: the all-stop way with `idle` idle threads: n hits of a breakpoint on bench_hit,
 * wait_stop + continue each (thread births and ends continued, not counted). */
static double lib_allstop_idle(long n, long idle) {
    double rate = NAN;
    char count[32], nidle[32];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(nidle, sizeof nidle, "%ld", idle);
    const char *argv[] = {target_path, "idle", count, nidle, NULL};
    ptrace_dbg_process *p = NULL;
    LIB(ptrace_dbg_launch(target_path, argv, NULL, NULL, &p));
    int32_t tid = 0;
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_HIT_ADDR));
    LIB(ptrace_dbg_continue(p));
    long hits = 0;
    double t0 = NAN;
    for (;;) {
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind == PTRACE_DBG_CAUSE_BREAKPOINT && ++hits == 1) t0 = now();
        if (hits == n) break;
        LIB(ptrace_dbg_continue(p));
    }
    if (hits != n) {
        fail("library: %ld of %ld all-stop hits", hits, n);
        goto out;
    }
    rate = (double)(n - 1) / (now() - t0);
out:
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 12d: n steps of the thread in bench_spin by ptrace_dbg_step_range over bench_spin
 * (it never leaves), in chunks of `chunk` steps by ptrace_dbg_step_n. Steps per second. */
static double lib_step_range(long n) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("spin", -1);
    if (!p) return NAN;
    int32_t tid = 0;
    uint64_t pc = 0, steps = 0;
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_SPIN_ADDR));
    LIB(ptrace_dbg_continue(p));
    LIB(wait_stop(p, &tid));
    LIB(ptrace_dbg_remove_breakpoint(p, BENCH_SPIN_ADDR));
    double t0 = now();
    LIB(ptrace_dbg_step_n(p, tid, (uint64_t)n, &steps));
    double t = now() - t0;
    LIB(ptrace_dbg_get_pc(p, tid, &pc));
    if ((long)steps != n || pc < BENCH_SPIN_ADDR || pc >= BENCH_SPIN_ADDR + 32) {
        fail("library: step_n made %llu steps, pc %#llx", (unsigned long long)steps,
             (unsigned long long)pc);
        goto out;
    }
    rate = (double)n / t;
out:
    ptrace_dbg_process_free(p);
    return rate;
}

static void ignore_signal(int sig) { (void)sig; }

/* lib_step_range with SIGCHLD caught with SA_NOCLDSTOP in this process (the host) meanwhile,
 * then the old disposition back: what a host can do to spare its threads the SIGCHLD the
 * kernel sends it at every stop of a tracee (do_notify_parent_cldstop). */
static double lib_step_range_nocldstop(long n) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ignore_signal;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, &old) != 0) return NAN;
    double r = lib_step_range(n);
    sigaction(SIGCHLD, &old, NULL);
    return r;
}

static int check_mem(const unsigned char *buf, uint64_t off, size_t len) {
    for (size_t i = 0; i < len; i += 4093)
        if (buf[i] != (unsigned char)((off + i) * 7 + 1)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- results */

typedef struct {
    const char *id, *name, *unit, *lib_label, *base_label, *target_text, *note;
    double lib[MAX_ROUNDS], base[MAX_ROUNDS], ratio[MAX_ROUNDS];
    int rounds;
    double target; /* ratio the median must reach; NAN: report only */
} result;

#define MAX_RESULTS 40
static result results[MAX_RESULTS];
static int nresults;

static result *new_result(const char *id, const char *name, const char *unit,
                          const char *lib_label, const char *base_label, double target,
                          const char *target_text) {
    if (nresults == MAX_RESULTS) {
        fprintf(stderr, "bench: more than MAX_RESULTS (%d) results\n", MAX_RESULTS);
        exit(2);
    }
    result *r = &results[nresults++];
    memset(r, 0, sizeof *r);
    r->id = id, r->name = name, r->unit = unit, r->lib_label = lib_label;
    r->base_label = base_label, r->target = target, r->target_text = target_text;
    for (int i = 0; i < MAX_ROUNDS; i++) r->lib[i] = r->base[i] = r->ratio[i] = NAN;
    return r;
}

static void record(result *r, int round, double lib, double base) {
    r->lib[round] = lib;
    r->base[round] = base;
    r->ratio[round] = lib / base;
    if (round + 1 > r->rounds) r->rounds = round + 1;
}

/* Extra figures of workload 5. */
static struct {
    double lib_attach[MAX_ROUNDS], lib_detach[MAX_ROUNDS], base_attach[MAX_ROUNDS],
        base_detach[MAX_ROUNDS];
    int host_threads_before, host_threads_during, target_threads;
    long rss_before_kb, rss_during_kb;
} many = {.host_threads_before = -1, .host_threads_during = -1, .target_threads = -1,
        .rss_before_kb = -1, .rss_during_kb = -1};

static char cpu_model[256] = "unknown", kernel[256] = "unknown", date[64] = "unknown";
static int ncpus, allowed_cpus;

static void machine_info(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *v = strchr(line, ':');
                if (v) {
                    v += 1 + (v[1] == ' ');
                    v[strcspn(v, "\n")] = 0;
                    snprintf(cpu_model, sizeof cpu_model, "%s", v);
                }
                break;
            }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) == 0) snprintf(kernel, sizeof kernel, "%s %s %s", u.sysname, u.release, u.machine);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    allowed_cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
}

/* ---------------------------------------------------------------- workloads */

static result *w1_result; /* workload 6 reuses its library rates */

static void w1_w2(void) {
    result *r1 = new_result("1", "breakpoint round trip", "hits/s", "library",
                            "raw ptrace (naive loop)", 0.8, ">= 0.8x");
    result *r2 = new_result("2", "breakpoint round trip, 1000 other breakpoints", "hits/s",
                            "library, 1001 bps", "library, 1 bp", 0.8, ">= 0.8x");
    w1_result = r1;
    r1->note = "wait_stop + get_pc + continue per hit; baseline: waitpid, GETREGS, SETREGS, "
               "POKETEXT, SINGLESTEP, waitpid, POKETEXT, CONT";
    r2->note = "1000 breakpoints on never-executed nops of bench_unused, against the "
               "library's own rate with 1 breakpoint";
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, base = NAN, a = NAN, b = NAN, lib1000 = NAN;
        for (int k = 0; k < 3; k++) {
            int which = (k + round) % 3; /* rotate the order every round */
            if (which == 0) lib = lib_bp(opt.hits, 0);
            if (which == 1 && baseline("bp", target_path, opt.hits, &a, &b, NULL) == 0)
                base = b / a;
            if (which == 2) lib1000 = lib_bp(opt.hits, EXTRA_BPS);
        }
        record(r1, round, lib, base);
        record(r2, round, lib1000, lib);
        fprintf(stderr, "  [%s] round %d: 1: %.0f vs %.0f hits/s; 2: %.0f hits/s\n", opt.pass,
                round + 1, lib, base, lib1000);
    }
}

static void w3(void) {
    result *r = new_result("3", "single-step", "steps/s", "library", "raw ptrace", 0.8,
                           ">= 0.8x");
    r->note = "ptrace_dbg_step of one thread; baseline: PTRACE_SINGLESTEP + waitpid";
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, base = NAN, a = NAN, b = NAN;
        for (int k = 0; k < 2; k++) {
            if ((k + round) % 2 == 0) lib = lib_step(opt.steps);
            else if (baseline("step", target_path, opt.steps, &a, &b, NULL) == 0) base = b / a;
        }
        record(r, round, lib, base);
        fprintf(stderr, "  [%s] round %d: 3: %.0f vs %.0f steps/s\n", opt.pass, round + 1, lib,
                base);
    }
}

/* Workload 9: the r-xp mapping of libc in `maps` (from /proc/PID/maps lines). */
static int libc_text(FILE *maps, uint64_t *start, uint64_t *end) {
    char line[4352];
    while (fgets(line, sizeof line, maps)) {
        unsigned long long a, b;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) == 3 && strcmp(perms, "r-xp") == 0 &&
            strstr(line, "/libc.so.6")) {
            *start = a, *end = b;
            return 0;
        }
    }
    return -1;
}

/* Workload 9: n address_symbol lookups at pseudo-random offsets into libc's text in the
 * target (stopped at bench_hit, so libc is loaded); lookups per second, NAN on failure. */
static double lib_symbolize(long n, const uint32_t *fractions) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("loop", 1);
    if (!p) return NAN;
    int32_t id, tid;
    char path[64], name[256];
    uint64_t start = 0, end = 0, off;
    int rc = ptrace_dbg_add_symbol_breakpoint(p, NULL, "bench_hit", &id);
    if (rc == PTRACE_DBG_OK) rc = ptrace_dbg_continue(p);
    if (rc == PTRACE_DBG_OK) rc = wait_stop(p, &tid);
    if (rc != PTRACE_DBG_OK) {
        fail("workload 9: running to bench_hit: %s (%s)", ptrace_dbg_strerror(rc),
             ptrace_dbg_last_error());
        goto out;
    }
    int32_t pid = 0;
    ptrace_dbg_pid(p, &pid);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    if (!maps || libc_text(maps, &start, &end) != 0) {
        fail("workload 9: no libc text in %s", path);
        if (maps) fclose(maps);
        goto out;
    }
    fclose(maps);
    long found = 0;
    /* The first call reads the objects; the process stays stopped, so the rest reuse them. */
    ptrace_dbg_address_symbol(p, start, name, sizeof name, &off, NULL, 0);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        uint64_t addr = start + (uint64_t)(((double)fractions[i] / 4294967296.0) * (double)(end - start));
        found += ptrace_dbg_address_symbol(p, addr, name, sizeof name, &off, NULL, 0) == PTRACE_DBG_OK;
    }
    double t = now() - t0;
    if (found < n / 2) fail("workload 9: only %ld of %ld addresses in libc named a symbol", found, n);
    else rate = (double)n / t;
out:
    ptrace_dbg_process_free(p);
    return rate;
}

/* Workload 9's baseline: dladdr() in this process, at the same offsets into its own libc. */
static double base_dladdr(long n, const uint32_t *fractions) {
    uint64_t start = 0, end = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps || libc_text(maps, &start, &end) != 0) {
        fail("workload 9: no libc text in /proc/self/maps");
        if (maps) fclose(maps);
        return NAN;
    }
    fclose(maps);
    long found = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        uint64_t addr = start + (uint64_t)(((double)fractions[i] / 4294967296.0) * (double)(end - start));
        Dl_info info;
        found += dladdr((void *)(uintptr_t)addr, &info) != 0 && info.dli_sname != NULL;
    }
    double t = now() - t0;
    return found > 0 ? (double)n / t : NAN;
}

static void w9(void) {
    static char note[256];
    result *r = new_result("9", "address_symbol in libc", "lookups/s", "library", "dladdr",
                           NAN, "<= 2 us/lookup");
    uint32_t *fractions = malloc((size_t)opt.lookups * sizeof *fractions);
    if (!fractions) {
        fail("workload 9: out of memory");
        return;
    }
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (long i = 0; i < opt.lookups; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        fractions[i] = (uint32_t)(x >> 32);
    }
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, base = NAN;
        for (int k = 0; k < 2; k++) {
            if ((k + round) % 2 == 0) lib = lib_symbolize(opt.lookups, fractions);
            else base = base_dladdr(opt.lookups, fractions);
        }
        record(r, round, lib, base);
        fprintf(stderr, "  [%s] round %d: 9: %.2f us vs %.2f us per lookup\n", opt.pass, round + 1,
                1e6 / lib, 1e6 / base);
    }
    double us = 1e6 / median(r->lib, r->rounds);
    snprintf(note, sizeof note,
             "%ld ptrace_dbg_address_symbol calls at random libc text addresses, process "
             "stopped: %.2f us each (goal <= 2 us); baseline: dladdr() in-process (dynsym only)",
             opt.lookups, us);
    r->note = note;
    if (!(us <= 2.0)) fprintf(stderr, "  [%s] workload 9: %.2f us per lookup, above the 2 us goal\n", opt.pass, us);
    free(fractions);
}

static void w4(void) {
    static char note_a[256], note_b[256], note_c[256];
    size_t big = (size_t)opt.mem_mib << 20;
    if (big > BENCH_MEM_SIZE) big = BENCH_MEM_SIZE;
    long pd_bytes = opt.peekdata_mib << 20;
    if (pd_bytes > (long)big) pd_bytes = (long)big;
    snprintf(note_a, sizeof note_a,
             "ptrace_dbg_peek of %zu MiB in one call vs one process_vm_readv of the same "
             "range from this process (5 of each per round, interleaved, after one untimed read)",
             big >> 20);
    snprintf(note_b, sizeof note_b,
             "the same peek vs PTRACE_PEEKDATA word by word (bench-baseline, %ld MiB read, "
             "rate scaled); expected >= 50x",
             pd_bytes >> 20);
    snprintf(note_c, sizeof note_c,
             "%ld x ptrace_dbg_peek of 1 KiB vs %ld x process_vm_readv of 1 KiB (in 5 "
             "interleaved slices)",
             opt.small, opt.small);
    result *ra = new_result("4a", "memory: one big read", "MiB/s", "ptrace_dbg_peek",
                            "process_vm_readv", 0.9, ">= 0.9x");
    result *rb = new_result("4b", "memory: one big read vs PEEKDATA", "MiB/s",
                            "ptrace_dbg_peek", "PTRACE_PEEKDATA", 50, ">= 50x");
    result *rc = new_result("4c", "memory: 1 KiB reads", "reads/s", "ptrace_dbg_peek",
                            "process_vm_readv", NAN, "report");
    ra->note = note_a, rb->note = note_b, rc->note = note_c;

    unsigned char *buf = malloc(big);
    ptrace_dbg_process *p = NULL;
    if (!buf) {
        fail("malloc %zu", big);
        return;
    }
    memset(buf, 0, big); /* fault the destination in before any clock runs */
    p = launch("mem", -1);
    if (!p) goto out;
    int32_t tid = 0, pid = 0;
    LIB(ptrace_dbg_pid(p, &pid));
    LIB(ptrace_dbg_add_breakpoint(p, BENCH_READY_ADDR));
    LIB(ptrace_dbg_continue(p));
    LIB(wait_stop(p, &tid));

    /* One big read takes some ms, and this VM's memory bandwidth wanders between rounds: each
     * round interleaves MEM_REPS reads of each side (and the small reads in as many slices),
     * and compares the summed times. */
    enum { MEM_REPS = 5 };
    long slice = opt.small / MEM_REPS > 0 ? opt.small / MEM_REPS : 1;
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, direct = NAN, pd = NAN, lib_small = NAN, direct_small = NAN;
        double t_lib = 0, t_direct = 0, t_lib_small = 0, t_direct_small = 0;
        /* Untimed: the PEEKDATA run between rounds (a fork, an exec, 64 MiB written) leaves the
         * caches cold, and whichever side went first paid for it. */
        struct iovec wl = {buf, big}, wr = {(void *)(uintptr_t)BENCH_MEM_ADDR, big};
        if (process_vm_readv(pid, &wl, 1, &wr, 1, 0) != (ssize_t)big) {
            fail("process_vm_readv (warm-up): %s", strerror(errno));
            goto out;
        }
        for (int k = 0; k < 2 * MEM_REPS; k++) {
            if ((k + round) % 2 == 0) {
                size_t done = 0;
                memset(buf, 0, 4096);
                double t0 = now();
                LIB(ptrace_dbg_peek(p, tid, BENCH_MEM_ADDR, buf, big, &done));
                t_lib += now() - t0;
                if (done != big || check_mem(buf, 0, big)) {
                    fail("library: the big read came back wrong (%zu bytes)", done);
                    goto out;
                }
                t0 = now();
                for (long i = 0; i < slice; i++) {
                    uint64_t off = ((uint64_t)i * 1024) % big;
                    LIB(ptrace_dbg_peek(p, tid, BENCH_MEM_ADDR + off, buf + off, 1024, NULL));
                }
                t_lib_small += now() - t0;
            } else {
                memset(buf, 0, 4096);
                struct iovec local = {buf, big}, remote = {(void *)(uintptr_t)BENCH_MEM_ADDR, big};
                double t0 = now();
                ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                t_direct += now() - t0;
                if (got != (ssize_t)big || check_mem(buf, 0, big)) {
                    fail("process_vm_readv: %zd of %zu bytes (%s)", got, big, strerror(errno));
                    goto out;
                }
                t0 = now();
                for (long i = 0; i < slice; i++) {
                    uint64_t off = ((uint64_t)i * 1024) % big;
                    struct iovec l = {buf + off, 1024},
                                 rm = {(void *)(uintptr_t)(BENCH_MEM_ADDR + off), 1024};
                    if (process_vm_readv(pid, &l, 1, &rm, 1, 0) != 1024) {
                        fail("process_vm_readv 1 KiB: %s", strerror(errno));
                        goto out;
                    }
                }
                t_direct_small += now() - t0;
            }
        }
        lib = MEM_REPS * (double)big / (1 << 20) / t_lib;
        direct = MEM_REPS * (double)big / (1 << 20) / t_direct;
        lib_small = (double)(MEM_REPS * slice) / t_lib_small;
        direct_small = (double)(MEM_REPS * slice) / t_direct_small;
        double a = NAN, b = NAN;
        if (baseline("peekdata", target_path, pd_bytes, &a, &b, NULL) == 0) pd = b / (1 << 20) / a;
        record(ra, round, lib, direct);
        record(rb, round, lib, pd);
        record(rc, round, lib_small, direct_small);
        fprintf(stderr,
                "  [%s] round %d: 4: %.0f vs %.0f MiB/s, PEEKDATA %.1f MiB/s; 1 KiB: %.0f vs %.0f "
                "reads/s\n",
                opt.pass, round + 1, lib, direct, pd, lib_small, direct_small);
    }
out:
    ptrace_dbg_process_free(p);
    free(buf);
}

/* Starts `target threads N` untraced and waits for its "ready". Returns its pid, or -1. */
static pid_t start_thread_target(long n) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the harness, however it ends */
        dup2(fds[1], 1);
        char count[32];
        snprintf(count, sizeof count, "%ld", n);
        execl(target_path, target_path, "threads", count, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[16] = {0};
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int ok = poll(&pfd, 1, 30000) == 1 && read(fds[0], line, sizeof line - 1) > 0 &&
             strncmp(line, "ready", 5) == 0;
    close(fds[0]);
    if (!ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail("the %ld-thread target did not get ready", n);
        return -1;
    }
    return pid;
}

static void w5(void) {
    static char note[256];
    snprintf(note, sizeof note,
             "attach all %ld+1 threads (all stopped), then detach; library: ptrace_dbg_attach + "
             "ptrace_dbg_detach + process_free; baseline: PTRACE_SEIZE + PTRACE_INTERRUPT each, "
             "waitpid each, PTRACE_DETACH each",
             opt.threads);
    result *r = new_result("5", "attach + detach many threads", "1/s", "library", "raw ptrace",
                           1 / 1.5, "<= 1.5x time");
    r->note = note;
    pid_t pid = start_thread_target(opt.threads);
    if (pid < 0) return;
    pid_t self = getpid();
    many.target_threads = count_tasks(pid);
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, base = NAN, ba = NAN, bd = NAN;
        for (int k = 0; k < 2; k++) {
            if ((k + round) % 2 == 0) {
                ptrace_dbg_process *p = NULL;
                int before = count_tasks(self);
                long rss_before = status_field(self, "VmRSS");
                double t0 = now();
                LIB(ptrace_dbg_attach(pid, &p));
                double t1 = now();
                int during = count_tasks(self);
                long rss_during = status_field(self, "VmRSS");
                size_t nthreads = 0;
                LIB(ptrace_dbg_threads(p, NULL, 0, &nthreads) == PTRACE_DBG_E_BUFFER_TOO_SMALL
                        ? PTRACE_DBG_OK
                        : PTRACE_DBG_E_INTERNAL);
                if ((long)nthreads != opt.threads + 1) {
                    fail("library: attached %zu threads, expected %ld", nthreads, opt.threads + 1);
                    goto out;
                }
                double t2 = now();
                LIB(ptrace_dbg_detach(p));
                ptrace_dbg_process_free(p);
                p = NULL;
                double t3 = now();
                many.lib_attach[round] = t1 - t0;
                many.lib_detach[round] = t3 - t2;
                lib = 1 / ((t1 - t0) + (t3 - t2));
                if (round == 0 || during - before > many.host_threads_during - many.host_threads_before) {
                    many.host_threads_before = before, many.host_threads_during = during;
                    many.rss_before_kb = rss_before, many.rss_during_kb = rss_during;
                }
            out:
                ptrace_dbg_process_free(p);
            } else {
                char pidstr[32];
                snprintf(pidstr, sizeof pidstr, "%d", (int)pid);
                if (baseline("attach", pidstr, -1, &ba, &bd, NULL) != 0) ba = bd = NAN;
            }
        }
        if (isfinite(ba)) {
            many.base_attach[round] = ba, many.base_detach[round] = bd;
            base = 1 / (ba + bd);
        }
        if (status_field(pid, "TracerPid") != 0) {
            fail("the thread target is still traced after round %d", round + 1);
            break;
        }
        record(r, round, lib, base);
        fprintf(stderr, "  [%s] round %d: 5: library %.1f + %.1f ms, baseline %.1f + %.1f ms\n",
                opt.pass, round + 1, many.lib_attach[round] * 1e3, many.lib_detach[round] * 1e3,
                ba * 1e3, bd * 1e3);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void w7(void) {
    result *ra = new_result("7a", "non-emulated breakpoint (a call): out of line", "hits/s",
                            "out of line", "lift-and-step", 0.9, ">= 0.9x");
    result *rb = new_result("7b", "the same, 2 other threads spinning", "hits/s",
                            "out of line", "lift-and-step", NAN, "report");
    ra->note = "breakpoint on the call in bench_call, wait_stop + get_pc + continue per hit; "
               "baseline: the library with PTRACE_DBG_NO_OUT_OF_LINE (breakpoint lifted, "
               "single step, others held), in a child process";
    rb->note = "as 7a, while 2 threads of the target spin (they no longer wait for the step)";
    for (int round = 0; round < opt.rounds; round++) {
        double a = NAN, b = NAN, c = NAN, d = NAN;
        for (int k = 0; k < 4; k++) {
            int which = (k + round) % 4;
            if (which == 0) a = lib_call(opt.hits / 2, 0);
            if (which == 1) b = lib_call_lifted(opt.hits / 2, 0);
            if (which == 2) c = lib_call(opt.hits / 4, 2);
            if (which == 3) d = lib_call_lifted(opt.hits / 4, 2);
        }
        record(ra, round, a, b);
        record(rb, round, c, d);
        fprintf(stderr, "  [%s] round %d: 7: %.0f vs %.0f hits/s; spinning: %.0f vs %.0f\n",
                opt.pass, round + 1, a, b, c, d);
    }
}

/* Workload 11: `target forks n` with every child followed: at each PTRACE_DBG_CAUSE_FORK stop
 * the child is taken, run to its exit and freed, then the parent continued. Children per
 * second. Also the host's threads at the peak (one monitor thread serves the family). */
static int fork_peak_threads = -1;
static double lib_forks(long n) {
    double rate = NAN;
    ptrace_dbg_process *p = launch("forks", n), *c = NULL;
    if (!p) return NAN;
    int32_t tid = 0, code = -2, sig = -2;
    long children = 0;
    pid_t self = getpid();
    LIB(ptrace_dbg_set_follow(p, PTRACE_DBG_FOLLOW_FORK));
    double t0 = now();
    for (;;) {
        LIB(ptrace_dbg_continue(p));
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        ptrace_dbg_cause cause;
        LIB(ptrace_dbg_stop_cause(p, tid, &cause));
        if (cause.kind != PTRACE_DBG_CAUSE_FORK) continue;
        LIB(ptrace_dbg_take_child(p, cause.new_tid, &c));
        children++;
        if (children == 1 || children == n) {
            int threads = count_tasks(self);
            if (threads > fork_peak_threads) fork_peak_threads = threads;
        }
        for (;;) { /* the child: its exit stop, then its exit */
            LIB(ptrace_dbg_continue(c));
            rc = wait_stop(c, NULL);
            if (rc == PTRACE_DBG_E_EXITED) break;
            LIB(rc);
        }
        LIB(ptrace_dbg_exit_status(c, &code, &sig));
        if (code != 0) {
            fail("library: a forked child exited %d (signal %d)", code, sig);
            goto out;
        }
        ptrace_dbg_process_free(c);
        c = NULL;
    }
    double t = now() - t0;
    LIB(ptrace_dbg_exit_status(p, &code, &sig));
    if (code != 0 || children != n) {
        fail("library: forks target exited %d (signal %d), %ld children followed", code, sig,
             children);
        goto out;
    }
    rate = (double)n / t;
out:
    ptrace_dbg_process_free(c);
    ptrace_dbg_process_free(p);
    return rate;
}

static void w11(void) {
    static char note[256];
    result *r = new_result("11", "fork + exit of followed children", "children/s", "library",
                           "raw ptrace (TRACEFORK)", 0.8, ">= 0.8x");
    for (int round = 0; round < opt.rounds; round++) {
        double lib = NAN, base = NAN, a = NAN, b = NAN;
        for (int k = 0; k < 2; k++) {
            if ((k + round) % 2 == 0) lib = lib_forks(opt.forks);
            else if (baseline("forks", target_path, opt.forks, &a, &b, NULL) == 0) base = b / a;
        }
        record(r, round, lib, base);
        fprintf(stderr, "  [%s] round %d: 11: %.0f vs %.0f children/s\n", opt.pass, round + 1,
                lib, base);
    }
    snprintf(note, sizeof note,
             "%ld children, each taken (take_child), run to its exit and freed; baseline: "
             "PTRACE_O_TRACEFORK, waitpid(-1) + CONT per stop; host threads at peak: %d",
             opt.forks, fork_peak_threads);
    r->note = note;
}

static double gdb_run_args(const char *mode, char *const *targs);
static int write_gdb_scripts(void);

/* Workload 12 (issue 18): tracepoints and range stepping. */
static void w12(void) {
    result *ra = new_result("12a", "tracepoint hits, 100 idle threads vs none", "hits/s",
                            "100 idle", "no idle", 0.8, ">= 0.8x");
    result *rc = new_result("12c", "tracepoint round trip vs the naive raw loop", "hits/s",
                            "tracepoint", "raw ptrace (naive loop)", 1.5, ">= 1.5x pinned");
    result *rd = new_result("12d", "step_range vs raw single-step + GETREGS loop", "steps/s",
                            "step_n", "raw ptrace", 1.0, ">= 1.0x pinned");
    result *rs = new_result("12s", "step_range vs raw single-step loop (no GETREGS)", "steps/s",
                            "step_n", "raw ptrace", NAN, "report");
    ra->note = "tracepoint on bench_hit, records read through the event fd; rate from the "
               "records' timestamps";
    rc->note = "tracepoint, no idle thread; baseline: workload 1's naive loop";
    rd->note = "ptrace_dbg_step_n over bench_spin; baseline: SINGLESTEP, waitpid, GETREGS + "
               "range check";
    rs->note = "as 12d; baseline: workload 3's SINGLESTEP + waitpid";
    result *rn = new_result("12n", "step_range, host SIGCHLD with SA_NOCLDSTOP, vs raw loop",
                            "steps/s", "step_n (SA_NOCLDSTOP)", "raw ptrace", NAN, "report");
    rn->note = "as 12d, with the bench (the host) catching SIGCHLD with SA_NOCLDSTOP meanwhile: "
               "the kernel then sends the host no SIGCHLD per tracee stop, which otherwise wakes a "
               "sleeping host thread at every step";
    long idle_hits = opt.hits / 2;
    for (int round = 0; round < opt.rounds; round++) {
        double t100 = NAN, t0 = NAN, base = NAN, sr = NAN, rawr = NAN, raws = NAN, srn = NAN, a, b;
        for (int k = 0; k < 6; k++) {
            int which = (k + round) % 6;
            if (which == 0) t100 = lib_tracepoint(idle_hits, 100);
            if (which == 1) t0 = lib_tracepoint(idle_hits, 0);
            if (which == 2 && baseline("bp", target_path, opt.hits, &a, &b, NULL) == 0)
                base = b / a;
            if (which == 3) sr = lib_step_range(opt.steps);
            if (which == 5) srn = lib_step_range_nocldstop(opt.steps);
            if (which == 4) {
                if (baseline("steprange", target_path, opt.steps, &a, &b, NULL) == 0)
                    rawr = b / a;
                if (baseline("step", target_path, opt.steps, &a, &b, NULL) == 0) raws = b / a;
            }
        }
        record(ra, round, t100, t0);
        record(rc, round, t0, base);
        record(rd, round, sr, rawr);
        record(rs, round, sr, raws);
        record(rn, round, srn, rawr);
        fprintf(stderr,
                "  [%s] round %d: 12: tracepoint %.0f (100 idle) %.0f (none) vs raw %.0f hits/s; "
                "step_n %.0f vs %.0f (+GETREGS) / %.0f steps/s\n",
                opt.pass, round + 1, t100, t0, base, sr, rawr, raws);
    }
    /* Against gdb on the same 100-thread program, and the all-stop figures. */
    char out[1024];
    char *version[] = {"gdb", "--version", NULL};
    int st = opt.gdb ? run_child(version, 30, out, sizeof out) : -1;
    if (!opt.gdb || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (opt.gdb) failures--;
        fprintf(stderr, "  [%s] workload 12b/12e skipped: no gdb\n", opt.pass);
        return;
    }
    if (write_gdb_scripts() != 0) return;
    result *rb = new_result("12b", "tracepoint vs gdb ignore count, 100 idle threads", "hits/s",
                            "tracepoint", "gdb ignore", 5.0, ">= 5x");
    result *re = new_result("12e", "all-stop breakpoint vs gdb commands, 100 idle threads",
                            "hits/s", "library all-stop", "gdb commands", NAN, "report");
    result *rf = new_result("12f", "all-stop breakpoint vs gdb ignore count, 100 idle threads",
                            "hits/s", "library all-stop", "gdb ignore", NAN, "report");
    rb->note = "gdb -batch on target idle N 100, break bench_hit + ignore count; gdb time minus "
               "a 0-hit gdb run";
    re->note = "library: wait_stop + continue per hit (stops all 101 threads); gdb: commands "
               "silent continue";
    rf->note = "as 12e; gdb: ignore count";
    int rounds = opt.gdb_rounds < opt.rounds ? opt.gdb_rounds : opt.rounds;
    long gh = opt.gdb_hits / 5 > 0 ? opt.gdb_hits / 5 : 1;
    for (int round = 0; round < rounds; round++) {
        char count[32], zero[] = "0", idle[] = "100";
        snprintf(count, sizeof count, "%ld", gh);
        char *a0[] = {target_path, "idle", zero, idle, NULL};
        char *an[] = {target_path, "idle", count, idle, NULL};
        double tp = ra->lib[round];
        double all = lib_allstop_idle(gh, 100);
        double g0 = gdb_run_args("ignore", a0);
        double gi = gdb_run_args("ignore", an);
        double gc = gdb_run_args("commands", an);
        double ri = gi > g0 ? (double)gh / (gi - g0) : NAN;
        double rcm = gc > g0 ? (double)gh / (gc - g0) : NAN;
        record(rb, round, tp, ri);
        record(re, round, all, rcm);
        record(rf, round, all, ri);
        fprintf(stderr,
                "  [%s] round %d: 12: 100 idle: tracepoint %.0f, all-stop %.0f, gdb ignore %.0f, "
                "gdb commands %.0f hits/s\n",
                opt.pass, round + 1, tp, all, ri, rcm);
    }
}

/* gdb on `target loop n`; mode "ignore" or "commands". Seconds, NAN on failure. */
static double gdb_run(const char *mode, long n) {
    char count[32], out[16384], script[4200];
    snprintf(count, sizeof count, "%ld", n);
    snprintf(script, sizeof script, "%s/gdb-%s.gdb", opt.bin, mode);
    char *argv[] = {"gdb",           "-nx",   "-batch", "-x", script, "--args", target_path,
                    "loop",          count,   NULL};
    double t0 = now();
    int st = run_child(argv, CHILD_DEADLINE, out, sizeof out);
    double t = now() - t0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "exited normally")) {
        fail("gdb (%s, %ld hits) failed, status 0x%x:\n%s", mode, n, st, out);
        return NAN;
    }
    return t;
}

/* gdb on the target with arguments `targs` (NULL-terminated, the target path first). */
static double gdb_run_args(const char *mode, char *const *targs) {
    char out[16384], script[4200];
    snprintf(script, sizeof script, "%s/gdb-%s.gdb", opt.bin, mode);
    char *argv[16] = {"gdb", "-nx", "-batch", "-x", script, "--args"};
    int k = 6;
    for (int i = 0; targs[i] && k < 15; i++) argv[k++] = targs[i];
    argv[k] = NULL;
    double t0 = now();
    int st = run_child(argv, CHILD_DEADLINE, out, sizeof out);
    double t = now() - t0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "exited normally")) {
        fail("gdb (%s) failed, status 0x%x:\n%s", mode, st, out);
        return NAN;
    }
    return t;
}

static int write_gdb_scripts(void) {
    const char *common = "set startup-with-shell off\nset pagination off\nset confirm off\n"
                         "break bench_hit\n";
    char path[4200];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/gdb-%s.gdb", opt.bin, k ? "commands" : "ignore");
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        fputs(common, f);
        fputs(k ? "commands 1\nsilent\ncontinue\nend\nrun\n" : "ignore 1 2000000000\nrun\n", f);
        fclose(f);
    }
    return 0;
}

static void w6(void) {
    char out[1024];
    char *version[] = {"gdb", "--version", NULL};
    int st = run_child(version, 30, out, sizeof out);
    if (!opt.gdb || st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (opt.gdb) failures--; /* run_child counted a timeout; gdb is optional */
        fprintf(stderr, "  [%s] workload 6 skipped: %s\n", opt.pass,
                opt.gdb ? "no gdb" : "--no-gdb");
        return;
    }
    if (write_gdb_scripts() != 0) {
        fail("cannot write the gdb scripts in %s", opt.bin);
        return;
    }
    static char note_a[256], note_b[256];
    snprintf(note_a, sizeof note_a,
             "gdb -batch, break bench_hit + ignore count, %ld hits; gdb time minus a 0-hit gdb run "
             "(startup); library: workload 1's rate of the same round",
             opt.gdb_hits);
    snprintf(note_b, sizeof note_b,
             "gdb -batch, break bench_hit with commands: silent, continue, end; %ld hits, "
             "startup subtracted likewise",
             opt.gdb_hits);
    result *ra = new_result("6a", "speed-up over gdb (ignore count)", "hits/s", "library",
                            "gdb", NAN, "report");
    result *rb = new_result("6b", "speed-up over gdb (commands/continue)", "hits/s", "library",
                            "gdb", NAN, "report");
    ra->note = note_a, rb->note = note_b;
    int rounds = opt.gdb_rounds < opt.rounds ? opt.gdb_rounds : opt.rounds;
    for (int round = 0; round < rounds; round++) {
        double lib = w1_result ? w1_result->lib[round] : lib_bp(opt.hits, 0);
        double t0 = gdb_run("ignore", 0);
        double ti = gdb_run("ignore", opt.gdb_hits);
        double tc = gdb_run("commands", opt.gdb_hits);
        double ri = (double)opt.gdb_hits / (ti - t0), rc = (double)opt.gdb_hits / (tc - t0);
        if (!(ti > t0)) ri = NAN;
        if (!(tc > t0)) rc = NAN;
        record(ra, round, lib, ri);
        record(rb, round, lib, rc);
        fprintf(stderr,
                "  [%s] round %d: 6: gdb startup %.2f s; ignore %.0f hits/s, commands %.0f hits/s\n",
                opt.pass, round + 1, t0, ri, rc);
    }
}

/* ---------------------------------------------------------------- workload 8: syscalls */

/* Runs `target syscalls G W` under the library, tracing `nrs` (NULL: every call) at entry and
 * exit with `flags` added; each stop is wait_stop + syscall_info + continue. Returns the
 * seconds from the launch to the exit (NAN on failure); *stops gets the syscall stops seen. */
static double lib_syscalls(long g, long w, const int32_t *nrs, size_t n, uint32_t flags,
                           long *stops) {
    double t = NAN;
    char gs[32], ws[32];
    snprintf(gs, sizeof gs, "%ld", g);
    snprintf(ws, sizeof ws, "%ld", w);
    const char *argv[] = {target_path, "syscalls", gs, ws, NULL};
    ptrace_dbg_process *p = NULL;
    int32_t tid = 0, code = -2, sig = -2;
    ptrace_dbg_syscall s;
    *stops = 0;
    double t0 = now();
    LIB(ptrace_dbg_launch(target_path, argv, NULL, NULL, &p));
    LIB(ptrace_dbg_trace_syscalls(p, nrs, n,
                                  PTRACE_DBG_SYSCALL_ENTRY | PTRACE_DBG_SYSCALL_EXIT | flags));
    for (;;) {
        LIB(ptrace_dbg_continue(p));
        int rc = wait_stop(p, &tid);
        if (rc == PTRACE_DBG_E_EXITED) break;
        LIB(rc);
        if (ptrace_dbg_syscall_info(p, tid, &s) == PTRACE_DBG_OK) ++*stops;
    }
    t = now() - t0;
    LIB(ptrace_dbg_exit_status(p, &code, &sig));
    if (code != 0) {
        fail("library: the syscalls target exited %d (signal %d)", code, sig);
        t = NAN;
    }
out:
    ptrace_dbg_process_free(p);
    return t;
}

/* Seconds of `target syscalls G W` run untraced (fork to exit), by the baseline. */
static double untraced_time(long g, long w) {
    char gs[32], ws[32], out[1024];
    snprintf(gs, sizeof gs, "%ld", g);
    snprintf(ws, sizeof ws, "%ld", w);
    char *argv[] = {baseline_path, "untraced", target_path, gs, ws, NULL};
    int st = run_child(argv, CHILD_DEADLINE, out, sizeof out);
    double t = NAN;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || sscanf(out, "ok %lf", &t) != 1) {
        fail("baseline untraced failed: %s", out);
        return NAN;
    }
    return t;
}

/* Seconds of `strace -f [--seccomp-bpf] -e trace=write -o /dev/null target syscalls G W`,
 * start to exit; NAN if it failed. */
static double strace_time(int seccomp, long g, long w) {
    char gs[32], ws[32], out[4096];
    snprintf(gs, sizeof gs, "%ld", g);
    snprintf(ws, sizeof ws, "%ld", w);
    char *with[] = {"strace", "-f", "--seccomp-bpf", "-e", "trace=write", "-o", "/dev/null",
                    target_path, "syscalls", gs, ws, NULL};
    char *without[] = {"strace", "-f", "-e", "trace=write", "-o", "/dev/null",
                       target_path, "syscalls", gs, ws, NULL};
    double t0 = now();
    int st = run_child(seccomp ? with : without, CHILD_DEADLINE, out, sizeof out);
    double t = now() - t0;
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail("strace%s failed (status 0x%x): %s", seccomp ? " --seccomp-bpf" : "", st, out);
        return NAN;
    }
    return t;
}

static void w8(void) {
    static char note_a[256], note_b[256], note_e[256];
    const int32_t write_nr = 1;
    long g = opt.sys_getpid, w = opt.sys_write, g_slow = opt.sys_getpid / 10;
    char out[1024];
    char *version[] = {"strace", "-V", NULL};
    int st = run_child(version, 30, out, sizeof out);
    int have_strace = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!have_strace) {
        if (st < 0) failures--; /* strace is optional; run_child counted its timeout */
        fprintf(stderr, "  [%s] workload 8c/8d skipped: no strace\n", opt.pass);
    }
    snprintf(note_a, sizeof note_a,
             "%ld getpid + %ld write; library traces write (entry+exit) with the seccomp filter, "
             "launch to exit; baseline: the same program untraced, fork to exit",
             g, w);
    snprintf(note_b, sizeof note_b,
             "the same with %ld getpid and no seccomp filter: PTRACE_SYSCALL, the monitor thread "
             "lets every getpid stop go",
             g_slow);
    snprintf(note_e, sizeof note_e,
             "%ld getpid, every call traced: wait_stop + syscall_info + continue per stop; "
             "baseline: PTRACE_SYSCALL + waitpid per stop",
             opt.sys_all);
    result *ra = new_result("8a", "trace write only (seccomp) vs untraced", "runs/s",
                            "library", "untraced", 1 / 1.2, "<= 1.2x time");
    result *rb = new_result("8b", "trace write only (PTRACE_SYSCALL) vs untraced", "runs/s",
                            "library", "untraced", NAN, "report");
    result *rc = have_strace ? new_result("8c", "trace write: library vs strace -f", "runs/s",
                                          "library", "strace", NAN, "report")
                             : NULL;
    result *rd = have_strace ? new_result("8d", "trace write: library vs strace --seccomp-bpf",
                                          "runs/s", "library", "strace --seccomp-bpf", NAN,
                                          "report")
                             : NULL;
    result *re = new_result("8e", "trace every call vs raw PTRACE_SYSCALL", "stops/s",
                            "library", "raw ptrace", 0.8, ">= 0.8x");
    ra->note = note_a, rb->note = note_b, re->note = note_e;
    static char note_c[256];
    snprintf(note_c, sizeof note_c,
             "%ld getpid + %ld write (strace without seccomp stops at all 2 x %ld calls): strace -f "
             "-e trace=write -o /dev/null, start to exit; library with the seccomp filter",
             g_slow, w, g_slow);
    if (rc) rc->note = note_c;
    if (rd) rd->note = "strace -f --seccomp-bpf -e trace=write -o /dev/null; library as in 8a";
    int rounds = opt.sys_rounds < opt.rounds ? opt.sys_rounds : opt.rounds;
    for (int round = 0; round < rounds; round++) {
        long stops = 0, all_stops = 0, raw_stops = 0;
        double lib = NAN, base = NAN, lib_slow = NAN, base_slow = NAN, s1 = NAN, s2 = NAN;
        double lib_small = NAN;
        double lib_all = NAN, raw_all = NAN, a = NAN, b = NAN;
        for (int k = 0; k < 7; k++) {
            switch ((k + round) % 7) {
            case 0:
                lib = lib_syscalls(g, w, &write_nr, 1, PTRACE_DBG_SYSCALL_SECCOMP, &stops);
                if (stops != 2 * w) fail("library (seccomp): %ld write stops, not %ld", stops, 2 * w);
                break;
            case 1: base = untraced_time(g, w); break;
            case 2: lib_slow = lib_syscalls(g_slow, w, &write_nr, 1, 0, &stops);
                if (stops != 2 * w) fail("library: %ld write stops, not %ld", stops, 2 * w);
                break;
            case 3: base_slow = untraced_time(g_slow, w); break;
            case 4:
                if (!have_strace) break;
                s1 = strace_time(0, g_slow, w);
                lib_small = lib_syscalls(g_slow, w, &write_nr, 1, PTRACE_DBG_SYSCALL_SECCOMP, &stops);
                break;
            case 5: if (have_strace) s2 = strace_time(1, g, w); break;
            case 6:
                lib_all = lib_syscalls(opt.sys_all, 0, NULL, 0, 0, &all_stops);
                if (baseline("sysall", target_path, opt.sys_all, &a, &b, NULL) == 0)
                    raw_all = b / a, raw_stops = (long)b;
                break;
            }
        }
        record(ra, round, 1 / lib, 1 / base);
        record(rb, round, 1 / lib_slow, 1 / base_slow);
        if (rc) record(rc, round, 1 / lib_small, 1 / s1);
        if (rd) record(rd, round, 1 / lib, 1 / s2);
        lib_all = (double)all_stops / lib_all;
        record(re, round, lib_all, raw_all);
        fprintf(stderr,
                "  [%s] round %d: 8: seccomp %.3f s vs untraced %.3f s; PTRACE_SYSCALL %.3f s vs "
                "%.3f s; strace (1/10 getpid) %.3f s, --seccomp-bpf %.3f s; all: %.0f vs %.0f stops/s "
                "(%ld, %ld stops)\n",
                opt.pass, round + 1, lib, base, lib_slow, base_slow, s1, s2, lib_all, raw_all,
                all_stops, raw_stops);
    }
}

/* Workload 10: a data watchpoint's round trip against a software breakpoint's, the same
 * target, loop and calls, alternately in each round. No step-over is needed after a data
 * watchpoint hit (it traps after the store), so >= 1.0x is expected. */
static void w10(void) {
    result *r = new_result("10a", "data watchpoint round trip vs breakpoint", "hits/s",
                           "library, watchpoint", "library, breakpoint", 1.0, ">= 1.0x (expected)");
    r->note = "write watchpoint on bench_counter vs breakpoint on bench_hit, same loop target; "
              "wait_stop + get_pc + continue per hit";
    result *rb = new_result("10b", "data watchpoint round trip", "hits/s", "library",
                            "raw ptrace", 0.8, ">= 0.8x");
    rb->note = "the same watchpoint; baseline: waitpid, GETREGS, PEEKUSER DR6, POKEUSER DR6, CONT "
               "(the floor: what the kernel's debug-register path costs any tracer)";
    for (int round = 0; round < opt.rounds; round++) {
        double watch = NAN, bp = NAN, raw = NAN, a = NAN, b = NAN;
        for (int k = 0; k < 3; k++) {
            int which = (k + round) % 3; /* rotate the order every round */
            if (which == 0) watch = lib_watch(opt.hits);
            if (which == 1) bp = lib_bp(opt.hits, 0);
            if (which == 2 && baseline("watch", target_path, opt.hits, &a, &b, NULL) == 0)
                raw = b / a;
        }
        record(r, round, watch, bp);
        record(rb, round, watch, raw);
        fprintf(stderr,
                "  [%s] round %d: 10: watchpoint %.0f vs breakpoint %.0f hits/s; raw watchpoint "
                "%.0f\n",
                opt.pass, round + 1, watch, bp, raw);
    }
}

/* ---------------------------------------------------------------- output */

static void fmt_rate(char *out, size_t cap, double v) {
    if (!isfinite(v)) snprintf(out, cap, "-");
    else if (v >= 100) snprintf(out, cap, "%.0f", v);
    else snprintf(out, cap, "%.2f", v);
}

static void print_table(void) {
    printf("\nptrace_dbg benchmarks, pass \"%s\" (%d of %d CPUs allowed)\n", opt.pass,
           allowed_cpus, ncpus);
    printf("CPU: %s | kernel: %s | date: %s | rounds: %d\n", cpu_model, kernel, date,
           opt.rounds);
    if (opt.smoke)
        printf("SMOKE RUN: tiny counts that check the harness and its JSON, not speed; the "
               "ratios mean nothing and no target is judged (make bench measures)\n");
    printf("%-4s %-46s %13s %13s %-9s  %-36s %7s %-13s %s\n", "#", "workload", "library",
           "baseline", "unit", "ratio per round (>1: library faster)", "median", "target",
           "met");
    for (int i = 0; i < nresults; i++) {
        result *r = &results[i];
        char lib[32], base[32], rounds[256] = "", med[32];
        fmt_rate(lib, sizeof lib, median(r->lib, r->rounds));
        fmt_rate(base, sizeof base, median(r->base, r->rounds));
        for (int k = 0; k < r->rounds; k++) {
            char one[32];
            snprintf(one, sizeof one, isfinite(r->ratio[k]) ? "%.2f " : "- ", r->ratio[k]);
            strncat(rounds, one, sizeof rounds - strlen(rounds) - 1);
        }
        double m = median(r->ratio, r->rounds);
        snprintf(med, sizeof med, isfinite(m) ? "%.2fx" : "-", m);
        const char *met = isnan(r->target) ? "" : !isfinite(m) ? "FAILED"
                          : opt.smoke ? "(smoke)" : m >= r->target ? "yes" : "NO";
        printf("%-4s %-46s %13s %13s %-9s  %-36s %7s %-13s %s\n", r->id, r->name, lib, base,
               r->unit, rounds, med, r->target_text, met);
    }
    printf("  library / baseline columns are medians of the rounds; per workload:\n");
    for (int i = 0; i < nresults; i++)
        printf("  %-3s %s vs %s: %s\n", results[i].id, results[i].lib_label,
               results[i].base_label, results[i].note ? results[i].note : "");
    if (many.target_threads > 0)
        printf("  5   times (median): library attach %.1f ms + detach %.1f ms, baseline attach "
               "%.1f ms + detach %.1f ms; target threads %d; host threads %d before attach, %d "
               "while attached; host RSS %ld kB before, %ld kB while attached\n",
               median(many.lib_attach, opt.rounds) * 1e3, median(many.lib_detach, opt.rounds) * 1e3,
               median(many.base_attach, opt.rounds) * 1e3,
               median(many.base_detach, opt.rounds) * 1e3, many.target_threads,
               many.host_threads_before, many.host_threads_during, many.rss_before_kb,
               many.rss_during_kb);
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

static void json_array(FILE *f, const double *v, int n, double scale) {
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        json_num(f, v[i] * scale);
    }
    fputc(']', f);
}

static int write_json(void) {
    FILE *f = fopen(opt.json, "w");
    if (!f) {
        fail("cannot write %s: %s", opt.json, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"pass\": ");
    json_str(f, opt.pass);
    fprintf(f, ",\n  \"machine\": {\"cpu\": ");
    json_str(f, cpu_model);
    fprintf(f, ", \"kernel\": ");
    json_str(f, kernel);
    fprintf(f, ", \"online_cpus\": %d, \"allowed_cpus\": %d},\n  \"date\": ", ncpus, allowed_cpus);
    json_str(f, date);
    fprintf(f, ",\n  \"library_version\": ");
    json_str(f, ptrace_dbg_version());
    fprintf(f,
            ",\n  \"rounds\": %d,\n  \"counts\": {\"hits\": %ld, \"extra_breakpoints\": %d, "
            "\"steps\": %ld, \"mem_mib\": %ld, \"peekdata_mib\": %ld, \"small_reads\": %ld, "
            "\"threads\": %ld, \"gdb_hits\": %ld},\n  \"workloads\": [",
            opt.rounds, opt.hits, EXTRA_BPS, opt.steps, opt.mem_mib, opt.peekdata_mib, opt.small,
            opt.threads, opt.gdb_hits);
    for (int i = 0; i < nresults; i++) {
        result *r = &results[i];
        double m = median(r->ratio, r->rounds);
        fprintf(f, "%s\n    {\"id\": ", i ? "," : "");
        json_str(f, r->id);
        fprintf(f, ", \"name\": ");
        json_str(f, r->name);
        fprintf(f, ", \"unit\": ");
        json_str(f, r->unit);
        fprintf(f, ", \"library\": ");
        json_str(f, r->lib_label);
        fprintf(f, ", \"baseline\": ");
        json_str(f, r->base_label);
        fprintf(f, ", \"note\": ");
        json_str(f, r->note);
        fprintf(f, ",\n     \"library_rates\": ");
        json_array(f, r->lib, r->rounds, 1);
        fprintf(f, ", \"baseline_rates\": ");
        json_array(f, r->base, r->rounds, 1);
        fprintf(f, ",\n     \"ratios\": ");
        json_array(f, r->ratio, r->rounds, 1);
        fprintf(f, ", \"median_ratio\": ");
        json_num(f, m);
        fprintf(f, ", \"library_median\": ");
        json_num(f, median(r->lib, r->rounds));
        fprintf(f, ", \"baseline_median\": ");
        json_num(f, median(r->base, r->rounds));
        fprintf(f, ", \"target_ratio\": ");
        json_num(f, r->target);
        fprintf(f, ", \"target\": ");
        json_str(f, r->target_text);
        fprintf(f, ", \"met\": %s}",
                isnan(r->target) ? "null" : isfinite(m) && m >= r->target ? "true" : "false");
    }
    fprintf(f, "\n  ],\n  \"many_threads\": {\"target_threads\": %d, \"host_threads_before\": %d, "
               "\"host_threads_during\": %d, \"host_rss_kb_before\": %ld, \"host_rss_kb_during\": %ld,"
               "\n    \"library_attach_ms\": ",
            many.target_threads, many.host_threads_before, many.host_threads_during, many.rss_before_kb,
            many.rss_during_kb);
    int n5 = many.target_threads > 0 ? opt.rounds : 0;
    json_array(f, many.lib_attach, n5, 1e3);
    fprintf(f, ", \"library_detach_ms\": ");
    json_array(f, many.lib_detach, n5, 1e3);
    fprintf(f, ",\n    \"baseline_attach_ms\": ");
    json_array(f, many.base_attach, n5, 1e3);
    fprintf(f, ", \"baseline_detach_ms\": ");
    json_array(f, many.base_detach, n5, 1e3);
    fprintf(f, "},\n  \"failures\": %d\n}\n", failures);
    if (fclose(f) != 0) {
        fail("cannot write %s", opt.json);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- main */

static long num_arg(const char *name, const char *v) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == 0 || *end || n < 0) {
        fprintf(stderr, "bench: %s wants a number, not '%s'\n", name, v);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 7 && strcmp(argv[1], "--call-child") == 0 && strcmp(argv[5], "--bin") == 0) {
        /* lib_call_lifted's child (MODE lift), or workload 7 alone (ool) for profiling:
         * bench --call-child N SPINNERS lift|ool --bin DIR. Set before the library's first use. */
        if (strcmp(argv[4], "lift") == 0) setenv("PTRACE_DBG_NO_OUT_OF_LINE", "1", 1);
        opt.bin = argv[6];
        snprintf(target_path, sizeof target_path, "%s/bench-target", opt.bin);
        double rate = lib_call(num_arg("--call-child", argv[2]), num_arg("spinners", argv[3]));
        printf("ok %.3f\n", rate);
        return isfinite(rate) ? 0 : 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-gdb") == 0) {
            opt.gdb = 0;
            continue;
        }
        if (strcmp(a, "--smoke") == 0) {
            opt.smoke = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench: unknown or incomplete option %s (see bench/bench.c)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--pass") == 0) opt.pass = v;
        else if (strcmp(a, "--only") == 0) opt.only = v;
        else if (strcmp(a, "--json") == 0) opt.json = v;
        else if (strcmp(a, "--bin") == 0) opt.bin = v;
        else if (strcmp(a, "--rounds") == 0) opt.rounds = (int)num_arg(a, v);
        else if (strcmp(a, "--gdb-rounds") == 0) opt.gdb_rounds = (int)num_arg(a, v);
        else if (strcmp(a, "--hits") == 0) opt.hits = num_arg(a, v);
        else if (strcmp(a, "--steps") == 0) opt.steps = num_arg(a, v);
        else if (strcmp(a, "--mem-mib") == 0) opt.mem_mib = num_arg(a, v);
        else if (strcmp(a, "--peekdata-mib") == 0) opt.peekdata_mib = num_arg(a, v);
        else if (strcmp(a, "--small") == 0) opt.small = num_arg(a, v);
        else if (strcmp(a, "--threads") == 0) opt.threads = num_arg(a, v);
        else if (strcmp(a, "--gdb-hits") == 0) opt.gdb_hits = num_arg(a, v);
        else if (strcmp(a, "--forks") == 0) opt.forks = num_arg(a, v);
        else if (strcmp(a, "--lookups") == 0) opt.lookups = num_arg(a, v);
        else if (strcmp(a, "--sys-rounds") == 0) opt.sys_rounds = (int)num_arg(a, v);
        else if (strcmp(a, "--sys-getpid") == 0) opt.sys_getpid = num_arg(a, v);
        else if (strcmp(a, "--sys-write") == 0) opt.sys_write = num_arg(a, v);
        else if (strcmp(a, "--sys-all") == 0) opt.sys_all = num_arg(a, v);
        else {
            fprintf(stderr, "bench: unknown option %s\n", a);
            return 2;
        }
    }
    if (opt.rounds < 1 || opt.rounds > MAX_ROUNDS || opt.hits < 1 || opt.steps < 1 ||
        opt.mem_mib < 1 || opt.peekdata_mib < 1 || opt.gdb_hits < 1 || opt.lookups < 1) {
        fprintf(stderr, "bench: rounds 1..%d, counts >= 1\n", MAX_ROUNDS);
        return 2;
    }
    snprintf(target_path, sizeof target_path, "%s/bench-target", opt.bin);
    snprintf(baseline_path, sizeof baseline_path, "%s/bench-baseline", opt.bin);
    if (access(target_path, X_OK) != 0 || access(baseline_path, X_OK) != 0) {
        fprintf(stderr, "bench: %s or %s missing (make bench builds them)\n", target_path,
                baseline_path);
        return 2;
    }
    machine_info();
    fprintf(stderr, "bench: pass \"%s\", %d rounds, library %s\n", opt.pass, opt.rounds,
            ptrace_dbg_version());
    if (wanted("1") || wanted("2")) w1_w2();
    if (wanted("3")) w3();
    if (wanted("4")) w4();
    if (wanted("5")) w5();
    if (wanted("6")) w6();
    if (wanted("7")) w7();
    if (wanted("8")) w8();
    if (wanted("9")) w9();
    if (wanted("10")) w10();
    if (wanted("11")) w11();
    if (wanted("12")) w12();
    print_table();
    write_json();
    printf("JSON: %s\n", opt.json);
    if (failures) fprintf(stderr, "bench: %d failure(s), see above\n", failures);
    return failures ? 1 : 0;
}
