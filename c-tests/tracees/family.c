/* The tracee of the follow-fork tests (tests/follow.rs): processes that create processes.
 * Every process calls hit() (a breakpoint target) a known number of times and exits with a
 * known code; a parent checks its children's statuses and says so in its own exit code. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *self;

__attribute__((noinline)) void hit(long i) {
    __asm__ volatile("" ::"r"(i) : "memory");
}

static void hits(long n) {
    for (long i = 0; i < n; i++) hit(i);
}

/* Waits for `pid` and checks it exited with `code`. */
static int reaped_with(pid_t pid, int code) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* forks K N: child i (0-based) calls hit N*(i+1) times and exits 10+i; the parent calls hit N
 * times, then exits 0 if every child exited with its code, else 3. */
static int mode_forks(int k, long n) {
    pid_t kids[64];
    if (k > 64) k = 64;
    for (int i = 0; i < k; i++) {
        kids[i] = fork();
        if (kids[i] < 0) return 2;
        if (kids[i] == 0) {
            hits(n * (i + 1));
            _exit(10 + i);
        }
    }
    hits(n);
    int ok = 1;
    for (int i = 0; i < k; i++) ok &= reaped_with(kids[i], 10 + i);
    return ok ? 0 : 3;
}

/* vfork_exec: hit once, vfork; the child calls hit once (breakpoints are out of the shared
 * memory during a vfork) and execs `family exit 5`; the parent hits once more and exits 0 if
 * the child exited 5. */
static int mode_vfork_exec(void) {
    hit(0);
    pid_t c = vfork();
    if (c == 0) {
        hit(1);
        execl(self, "family", "hits", "2", "5", (char *)NULL);
        _exit(127);
    }
    hit(2);
    return reaped_with(c, 5) ? 0 : 3;
}

/* spawn: posix_spawn `family hits 3 6`, exits 0 if it exited 6. */
static int mode_spawn(void) {
    pid_t c;
    char *argv[] = {"family", "hits", "3", "6", NULL};
    if (posix_spawn(&c, self, NULL, NULL, argv, environ) != 0) return 2;
    hit(0);
    return reaped_with(c, 6) ? 0 : 3;
}

/* system: system("family hits 2 7"), exits 0 if it exited 7. */
static int mode_system(void) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' hits 2 7", self);
    int st = system(cmd);
    return (WIFEXITED(st) && WEXITSTATUS(st) == 7) ? 0 : 3;
}

/* hits N CODE: calls hit N times, exits CODE. */
static int mode_hits(long n, int code) {
    hits(n);
    return code;
}

/* exec_child: the child calls hit once and execs `family hits 3 8`; exits 0 if it exited 8. */
static int mode_exec_child(void) {
    pid_t c = fork();
    if (c == 0) {
        hit(0);
        execl(self, "family", "hits", "3", "8", (char *)NULL);
        _exit(127);
    }
    return reaped_with(c, 8) ? 0 : 3;
}

/* grand: the child forks a grandchild (hit 2 times, exit 31), hits once, exits 30 if the
 * grandchild exited 31; the parent exits 0 if the child exited 30. */
static int mode_grand(void) {
    pid_t c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0) {
            hits(2);
            _exit(31);
        }
        hit(0);
        _exit(reaped_with(g, 31) ? 30 : 3);
    }
    return reaped_with(c, 30) ? 0 : 3;
}

static long thread_hits;
static void *forking_thread(void *arg) {
    long i = (long)arg;
    pid_t c = fork();
    if (c == 0) {
        hits(thread_hits);
        _exit((int)(40 + i));
    }
    return (void *)(long)reaped_with(c, (int)(40 + i));
}

/* thread_forks T N: T threads fork at once; child i hits N times and exits 40+i (the threads
 * themselves hit nothing). Exits 0 if every child exited with its code. */
static int mode_thread_forks(int t, long n) {
    pthread_t ts[32];
    if (t > 32) t = 32;
    thread_hits = n;
    for (long i = 0; i < t; i++)
        if (pthread_create(&ts[i], NULL, forking_thread, (void *)i) != 0) return 2;
    int ok = 1;
    for (int i = 0; i < t; i++) {
        void *r;
        pthread_join(ts[i], &r);
        ok &= r != NULL;
    }
    return ok ? 0 : 3;
}

/* parent_first: the child waits for the parent to exit (EOF on a pipe), hits once, exits 21;
 * the parent exits 4 at once. */
static int mode_parent_first(void) {
    int fds[2];
    if (pipe(fds) != 0) return 2;
    pid_t c = fork();
    if (c == 0) {
        close(fds[1]);
        char b;
        while (read(fds[0], &b, 1) > 0) {
        }
        hit(0);
        _exit(21);
    }
    close(fds[0]);
    hit(0);
    return 4;
}

/* bomb D W N: a tree of depth D and width W; every process hits N times; a process exits 0 if
 * all its children exited 0. (D=3 W=5: 1+5+25+125 = 156 processes.) */
static int mode_bomb(int d, int w, long n) {
    pid_t kids[16];
    if (w > 16) w = 16;
    int made = 0;
    if (d > 0) {
        for (int i = 0; i < w; i++) {
            kids[i] = fork();
            if (kids[i] < 0) break;
            if (kids[i] == 0) _exit(mode_bomb(d - 1, w, n));
            made++;
        }
    }
    hits(n);
    int ok = made == (d > 0 ? w : 0);
    for (int i = 0; i < made; i++) ok &= reaped_with(kids[i], 0);
    return ok ? 0 : 3;
}

/* fork_exit N: forks N children one after the other, each exits at once (the benchmark). */
static int mode_fork_exit(long n) {
    for (long i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (!reaped_with(c, 0)) return 3;
    }
    return 0;
}

/* fifo_fork CPU: on CPU alone, SCHED_FIFO (its children reset to SCHED_OTHER); calls hit once,
 * forks a child that calls hit once and exits 0; exits 0 if it did, 3 if not, 4 or 5 if the
 * CPU or the policy could not be set. A SCHED_FIFO busy loop of the test on that CPU holds the
 * child before its first instruction (and its first ptrace stop) while the parent runs. */
static int mode_fifo_fork(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) return 4;
    struct sched_param sp = {.sched_priority = 50};
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0) return 5;
    hit(0);
    pid_t c = fork();
    if (c == 0) {
        hit(1);
        _exit(0);
    }
    return reaped_with(c, 0) ? 0 : 3;
}

static void *exec_from_thread(void *arg) {
    (void)arg;
    execl(self, "family", "hits", "2", "9", (char *)NULL);
    return NULL;
}

/* thread_exec: the child starts a thread that execs `family hits 2 9` (the leader is blocked
 * meanwhile); exits 0 if the child exited 9. */
static int mode_thread_exec(void) {
    pid_t c = fork();
    if (c == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, exec_from_thread, NULL) != 0) _exit(2);
        for (;;) pause();
    }
    return reaped_with(c, 9) ? 0 : 3;
}

static long busy_hits;
static void *hitting_thread(void *arg) {
    (void)arg;
    hits(busy_hits);
    return NULL;
}

/* fork_while_hitting T N: T threads call hit N times each while the main thread forks 3
 * children one after the other (child i hits N times, exits 50+i); exits 0 if all did. */
static int mode_fork_while_hitting(int t, long n) {
    pthread_t ts[16];
    if (t > 16) t = 16;
    busy_hits = n;
    for (int i = 0; i < t; i++)
        if (pthread_create(&ts[i], NULL, hitting_thread, NULL) != 0) return 2;
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        pid_t c = fork();
        if (c == 0) {
            hits(n);
            _exit(50 + i);
        }
        ok &= reaped_with(c, 50 + i);
    }
    for (int i = 0; i < t; i++) pthread_join(ts[i], NULL);
    return ok ? 0 : 3;
}

/* clone_parent: the child makes a sibling with clone(CLONE_PARENT) (a fork whose parent is
 * its own parent: the sibling hits once and exits 51), hits once and exits 50; the parent
 * reaps both (both are its children) and exits 0 if each exited with its code. */
static int mode_clone_parent(void) {
    pid_t c = fork();
    if (c == 0) {
        long s = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0L, 0L, 0L, 0L);
        if (s == 0) {
            hit(1);
            _exit(51);
        }
        hit(0);
        _exit(s > 0 ? 50 : 2);
    }
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        int st = 0;
        if (waitpid(-1, &st, 0) < 0 || !WIFEXITED(st)) return 3;
        if (WEXITSTATUS(st) == 50) seen |= 1;
        if (WEXITSTATUS(st) == 51) seen |= 2;
    }
    return seen == 3 ? 0 : 3;
}

int main(int argc, char **argv) {
    self = "/proc/self/exe";
    char buf[4096];
    ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (len > 0) {
        buf[len] = 0;
        self = strdup(buf);
    }
    const char *m = argc > 1 ? argv[1] : "";
    long a = argc > 2 ? atol(argv[2]) : 0, b = argc > 3 ? atol(argv[3]) : 0;
    long c = argc > 4 ? atol(argv[4]) : 0;
    if (!strcmp(m, "forks")) return mode_forks((int)a, b);
    if (!strcmp(m, "vfork_exec")) return mode_vfork_exec();
    if (!strcmp(m, "spawn")) return mode_spawn();
    if (!strcmp(m, "system")) return mode_system();
    if (!strcmp(m, "hits")) return mode_hits(a, (int)b);
    if (!strcmp(m, "exec_child")) return mode_exec_child();
    if (!strcmp(m, "grand")) return mode_grand();
    if (!strcmp(m, "thread_forks")) return mode_thread_forks((int)a, b);
    if (!strcmp(m, "parent_first")) return mode_parent_first();
    if (!strcmp(m, "bomb")) return mode_bomb((int)a, (int)b, c);
    if (!strcmp(m, "fork_exit")) return mode_fork_exit(a);
    if (!strcmp(m, "thread_exec")) return mode_thread_exec();
    if (!strcmp(m, "fifo_fork")) return mode_fifo_fork((int)a);
    if (!strcmp(m, "fork_while_hitting")) return mode_fork_while_hitting((int)a, b);
    if (!strcmp(m, "clone_parent")) return mode_clone_parent();
    fprintf(stderr, "family: unknown mode %s\n", m);
    return 99;
}
