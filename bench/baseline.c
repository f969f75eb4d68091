/* The raw-ptrace floor of the benchmarks: a minimal single-threaded C tracer doing each
 * workload's work with bare ptrace/waitpid calls, and nothing else (bench/README.md).
 *
 *   bench-baseline bp TARGET N          break on bench_hit, N hits, the naive loop per hit:
 *                                       waitpid, GETREGS, rewind rip (SETREGS), restore the
 *                                       original word (POKETEXT), SINGLESTEP, waitpid,
 *                                       re-insert int3 (POKETEXT), CONT
 *   bench-baseline step TARGET N        break on bench_spin, then N x (SINGLESTEP, waitpid)
 *   bench-baseline peekdata TARGET B    break on bench_ready, read B bytes of bench_mem with
 *                                       PTRACE_PEEKDATA, word by word
 *   bench-baseline forks TARGET N       PTRACE_O_TRACEFORK on `target forks N`: waitpid(-1)
 *                                       for every stop of the parent and its N children
 *                                       (fork event, child's first stop, SIGCHLD, exits),
 *                                       each continued at once, until the parent exits
 *   bench-baseline untraced TARGET G W  runs `TARGET syscalls G W` untraced: fork, exec, waitpid
 *                                       (the time is fork to exit)
 *   bench-baseline sysall TARGET G      runs `TARGET syscalls G 0` stopping at every system
 *                                       call: PTRACE_SYSCALL + waitpid per stop, to the exit
 *                                       (prints the time and the number of stops)
 *   bench-baseline attach PID           attach every thread of PID (PTRACE_SEIZE, then
 *                                       PTRACE_INTERRUPT, each), waitpid each until it is in
 *                                       its interrupt stop, then PTRACE_DETACH each
 *
 * It prints one line, "ok SECONDS COUNT" ("ok ATTACH_S DETACH_S THREADS" for attach), timed
 * with CLOCK_MONOTONIC around the loop only (not the launch). Any surprise: a message on
 * stderr, exit 1. It never waits unboundedly on its own: the harness (bench.c) is its watchdog
 * and SIGKILLs it after a deadline; launched tracees carry PTRACE_O_EXITKILL, so they die with
 * it, and PR_SET_PDEATHSIG ties it to the harness.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target_addrs.h"

static pid_t child = -1;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static _Noreturn void die(const char *what) {
    fprintf(stderr, "bench-baseline: %s: %s\n", what, errno ? strerror(errno) : "unexpected");
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, __WALL);
    }
    exit(1);
}

#define PT(req, pid, addr, data)                                                       \
    do {                                                                                \
        errno = 0;                                                                      \
        if (ptrace(req, pid, (void *)(uintptr_t)(addr), (void *)(uintptr_t)(data)) == -1 \
            && errno)                                                                   \
            die(#req);                                                                  \
    } while (0)

/* Waits for the next stop of pid and insists it is a SIGTRAP. */
static void wait_trap(pid_t pid) {
    int st;
    if (waitpid(pid, &st, __WALL) != pid) die("waitpid");
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) {
        errno = 0;
        fprintf(stderr, "bench-baseline: status 0x%x, wanted a SIGTRAP stop\n", st);
        die("wait_trap");
    }
}

/* fork + PTRACE_TRACEME + exec; returns with the child stopped after exec. */
static pid_t launch(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    child = pid;
    wait_trap(pid);
    PT(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);
    return pid;
}

static long peek_word(pid_t pid, uint64_t addr) {
    errno = 0;
    long w = ptrace(PTRACE_PEEKTEXT, pid, (void *)(uintptr_t)addr, NULL);
    if (w == -1 && errno) die("PTRACE_PEEKTEXT");
    return w;
}

static long int3_word(long orig) {
    return (long)(((unsigned long)orig & ~0xfful) | 0xccul);
}

/* Runs pid to the int3 at addr (inserted here), rewinds rip, and takes the int3 out. */
static void run_to(pid_t pid, uint64_t addr) {
    long orig = peek_word(pid, addr);
    PT(PTRACE_POKETEXT, pid, addr, int3_word(orig));
    PT(PTRACE_CONT, pid, 0, 0);
    wait_trap(pid);
    struct user_regs_struct regs;
    PT(PTRACE_GETREGS, pid, 0, &regs);
    if (regs.rip != addr + 1) die("run_to: not at the breakpoint");
    regs.rip = addr;
    PT(PTRACE_SETREGS, pid, 0, &regs);
    PT(PTRACE_POKETEXT, pid, addr, orig);
}

static void kill_child(void) {
    kill(child, SIGKILL);
    int st;
    while (waitpid(child, &st, __WALL) == child && !WIFEXITED(st) && !WIFSIGNALED(st)) {
    }
    child = -1;
}

static int bp(const char *target, long n) {
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {(char *)target, "loop", count, NULL};
    pid_t pid = launch(argv);
    const uint64_t addr = BENCH_HIT_ADDR;
    long orig = peek_word(pid, addr), trap = int3_word(orig);
    PT(PTRACE_POKETEXT, pid, addr, trap);

    double t0 = now();
    PT(PTRACE_CONT, pid, 0, 0);
    struct user_regs_struct regs;
    for (long i = 0; i < n; i++) {
        wait_trap(pid);
        PT(PTRACE_GETREGS, pid, 0, &regs);
        if (regs.rip != addr + 1) die("bp: stopped elsewhere");
        regs.rip = addr;
        PT(PTRACE_SETREGS, pid, 0, &regs);
        if (i == n - 1) break; /* the clock stops at the last hit, as in bench.c */
        PT(PTRACE_POKETEXT, pid, addr, orig);
        PT(PTRACE_SINGLESTEP, pid, 0, 0);
        wait_trap(pid);
        PT(PTRACE_POKETEXT, pid, addr, trap);
        PT(PTRACE_CONT, pid, 0, 0);
    }
    double t = now() - t0;

    /* Let it finish: it must exit 0 having called bench_hit n times. */
    PT(PTRACE_POKETEXT, pid, addr, orig);
    PT(PTRACE_CONT, pid, 0, 0);
    int st;
    if (waitpid(pid, &st, __WALL) != pid) die("waitpid (exit)");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        die("bp: the target did not exit 0");
    }
    child = -1;
    printf("ok %.9f %ld\n", t, n);
    return 0;
}

/* Workload 7b: n hits of a write watchpoint on bench_counter, as a minimal tracer takes them:
 * waitpid, GETREGS, PEEKUSER DR6, POKEUSER DR6 = 0, CONT. */
static int watch(const char *target, long n) {
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {(char *)target, "loop", count, NULL};
    pid_t pid = launch(argv);
    const uint64_t dr = offsetof(struct user, u_debugreg);
    /* DR0 = the counter; DR7: L0, RW0 = 01 (write), LEN0 = 10 (8 bytes). */
    PT(PTRACE_POKEUSER, pid, dr, BENCH_COUNTER_ADDR);
    PT(PTRACE_POKEUSER, pid, dr + 7 * 8, 1ul | (1ul << 16) | (2ul << 18));

    double t0 = now();
    PT(PTRACE_CONT, pid, 0, 0);
    struct user_regs_struct regs;
    for (long i = 0; i < n; i++) {
        wait_trap(pid);
        PT(PTRACE_GETREGS, pid, 0, &regs);
        errno = 0;
        long dr6 = ptrace(PTRACE_PEEKUSER, pid, (void *)(uintptr_t)(dr + 6 * 8), NULL);
        if (errno || !(dr6 & 1)) die("watch: a stop that is not the watchpoint");
        PT(PTRACE_POKEUSER, pid, dr + 6 * 8, 0);
        if (i == n - 1) break;
        PT(PTRACE_CONT, pid, 0, 0);
    }
    double t = now() - t0;

    PT(PTRACE_POKEUSER, pid, dr + 7 * 8, 0);
    PT(PTRACE_CONT, pid, 0, 0);
    int st;
    if (waitpid(pid, &st, __WALL) != pid) die("waitpid (exit)");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        die("watch: the target did not exit 0");
    }
    child = -1;
    printf("ok %.9f %ld\n", t, n);
    return 0;
}

static int step(const char *target, long n) {
    char *argv[] = {(char *)target, "spin", NULL};
    pid_t pid = launch(argv);
    run_to(pid, BENCH_SPIN_ADDR);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        PT(PTRACE_SINGLESTEP, pid, 0, 0);
        wait_trap(pid);
    }
    double t = now() - t0;
    struct user_regs_struct regs;
    PT(PTRACE_GETREGS, pid, 0, &regs);
    if (regs.rip < BENCH_SPIN_ADDR || regs.rip >= BENCH_SPIN_ADDR + 32) die("step: left bench_spin");
    kill_child();
    printf("ok %.9f %ld\n", t, n);
    return 0;
}

/* Workload 12d: n single steps of bench_spin, each followed by GETREGS and a check that rip is
 * still in bench_spin: the least a raw range-stepping loop does. */
static int steprange(const char *target, long n) {
    char *argv[] = {(char *)target, "spin", NULL};
    pid_t pid = launch(argv);
    run_to(pid, BENCH_SPIN_ADDR);
    struct user_regs_struct regs;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        PT(PTRACE_SINGLESTEP, pid, 0, 0);
        wait_trap(pid);
        PT(PTRACE_GETREGS, pid, 0, &regs);
        if (regs.rip < BENCH_SPIN_ADDR || regs.rip >= BENCH_SPIN_ADDR + 32) die("steprange: left");
    }
    double t = now() - t0;
    kill_child();
    printf("ok %.9f %ld\n", t, n);
    return 0;
}

static int peekdata(const char *target, long bytes) {
    if (bytes <= 0 || bytes % 8 || bytes > (long)BENCH_MEM_SIZE) {
        errno = EINVAL;
        die("peekdata: bytes");
    }
    char *argv[] = {(char *)target, "mem", NULL};
    pid_t pid = launch(argv);
    run_to(pid, BENCH_READY_ADDR);
    long *buf = malloc((size_t)bytes);
    if (!buf) die("malloc");
    memset(buf, 0, (size_t)bytes);
    long words = bytes / 8;
    double t0 = now();
    for (long i = 0; i < words; i++) {
        errno = 0;
        buf[i] = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)(BENCH_MEM_ADDR + 8 * (uint64_t)i), NULL);
        if (buf[i] == -1 && errno) die("PTRACE_PEEKDATA");
    }
    double t = now() - t0;
    const unsigned char *b = (const unsigned char *)buf;
    for (long i = 0; i < bytes; i += 4093)
        if (b[i] != (unsigned char)(i * 7 + 1)) die("peekdata: wrong bytes");
    free(buf);
    kill_child();
    printf("ok %.9f %ld\n", t, bytes);
    return 0;
}

static size_t list_tasks(pid_t pid, pid_t *tids, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) die("opendir /proc/PID/task");
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap)
        if (e->d_name[0] != '.') tids[n++] = (pid_t)atoi(e->d_name);
    closedir(d);
    return n;
}

static int attach(pid_t pid) {
    enum { CAP = 1 << 16 };
    static pid_t tids[CAP], seen[CAP];
    size_t nseen = 0;

    double t0 = now();
    /* Seize and interrupt every listed thread; list again until no new thread shows up. */
    for (;;) {
        size_t n = list_tasks(pid, tids, CAP), fresh = 0;
        for (size_t i = 0; i < n; i++) {
            int known = 0;
            for (size_t j = 0; j < nseen && !known; j++) known = seen[j] == tids[i];
            if (known) continue;
            if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL) == -1) {
                if (errno == ESRCH) continue; /* exited meanwhile */
                die("PTRACE_SEIZE");
            }
            PT(PTRACE_INTERRUPT, tids[i], 0, 0);
            seen[nseen++] = tids[i];
            fresh++;
        }
        if (fresh == 0) break;
    }
    for (size_t i = 0; i < nseen; i++) {
        int st;
        if (waitpid(seen[i], &st, __WALL) != seen[i]) die("waitpid (attach)");
        if (!WIFSTOPPED(st)) {
            errno = 0;
            die("attach: a thread did not stop");
        }
    }
    double t1 = now();
    for (size_t i = 0; i < nseen; i++) PT(PTRACE_DETACH, seen[i], 0, 0);
    double t2 = now();
    printf("ok %.9f %.9f %zu\n", t1 - t0, t2 - t1, nseen);
    return 0;
}

/* `target forks n` with every child followed (PTRACE_O_TRACEFORK): each stop is continued at
 * once; the children's exits come to this tracer too. */
static int forks(const char *target, long n) {
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {(char *)target, "forks", count, NULL};
    pid_t pid = launch(argv);
    PT(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL);
    long children = 0;
    double t0 = now();
    PT(PTRACE_CONT, pid, 0, 0);
    for (;;) {
        int st;
        pid_t who = waitpid(-1, &st, __WALL);
        if (who < 0) die("waitpid (forks)");
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (who != pid) continue; /* a child's exit */
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                errno = 0;
                die("forks: the target did not exit 0");
            }
            break;
        }
        int sig = WSTOPSIG(st), event = st >> 16;
        if (event == PTRACE_EVENT_FORK) children++;
        /* Deliver real signals (SIGCHLD); not our stops (event stops, a child's SIGSTOP). */
        int deliver = (event || (who != pid && sig == SIGSTOP) || sig == SIGTRAP) ? 0 : sig;
        PT(PTRACE_CONT, who, 0, deliver);
    }
    double t = now() - t0;
    child = -1;
    if (children != n) {
        errno = 0;
        die("forks: fork events missing");
    }
    printf("ok %.9f %ld\n", t, n);
    return 0;
}

static int untraced(const char *target, const char *g, const char *w) {
    char *argv[] = {(char *)target, "syscalls", (char *)g, (char *)w, NULL};
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    child = pid;
    int st;
    if (waitpid(pid, &st, 0) != pid) die("waitpid");
    double t = now() - t0;
    child = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        die("untraced: the target did not exit 0");
    }
    printf("ok %.9f 1\n", t);
    return 0;
}

static int sysall(const char *target, const char *g) {
    char *argv[] = {(char *)target, "syscalls", (char *)g, "0", NULL};
    pid_t pid = launch(argv);
    PT(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD);
    long stops = 0;
    int st;
    double t0 = now();
    for (;;) {
        PT(PTRACE_SYSCALL, pid, 0, 0);
        if (waitpid(pid, &st, __WALL) != pid) die("waitpid");
        if (WIFEXITED(st) || WIFSIGNALED(st)) break;
        if (WSTOPSIG(st) == (SIGTRAP | 0x80)) stops++;
    }
    double t = now() - t0;
    child = -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        die("sysall: the target did not exit 0");
    }
    printf("ok %.9f %ld\n", t, stops);
    return 0;
}

int main(int argc, char **argv) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "bp") == 0) return bp(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "step") == 0) return step(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "steprange") == 0) return steprange(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "watch") == 0) return watch(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "peekdata") == 0) return peekdata(argv[2], atol(argv[3]));
    if (argc == 4 && strcmp(argv[1], "forks") == 0) return forks(argv[2], atol(argv[3]));
    if (argc == 3 && strcmp(argv[1], "attach") == 0) return attach((pid_t)atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "untraced") == 0) return untraced(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "sysall") == 0) return sysall(argv[2], argv[3]);
    fprintf(stderr, "usage: bench-baseline bp|step|peekdata TARGET N | attach PID\n");
    return 2;
}
