/* Tracee modes for tests/faults.rs (the reliability issue's fault tests): programs that fork,
 * vfork, create and end threads, exit from a non-main thread, and hit a breakpoint function a
 * known number of times, each ending with an exit code that says whether it saw what it
 * should. Built with -O1 -g -pthread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The tests set breakpoints on it. */
__attribute__((noinline)) void fault_fn(long i) {
    static volatile long sink;
    sink += i;
}

static void *short_thread(void *arg) {
    volatile long x = (long)arg;
    for (int i = 0; i < 1000; i++) x += i;
    return NULL;
}

/* forkloop N: N rounds of a fork child (exits 11), a vfork child (exits 12) and a thread
 * created and joined. Exits 0 if every child came back with its code, 3 if not. */
static int mode_forkloop(int n) {
    for (int i = 0; i < n; i++) {
        pid_t a = fork();
        if (a == 0) _exit(11);
        if (a < 0) return 4;
        pid_t b = vfork();
        if (b == 0) _exit(12);
        if (b < 0) return 4;
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, (void *)(long)i) != 0) return 2;
        int sa = 0, sb = 0;
        if (waitpid(a, &sa, 0) != a || waitpid(b, &sb, 0) != b) return 4;
        pthread_join(t, NULL);
        if (!WIFEXITED(sa) || WEXITSTATUS(sa) != 11 || !WIFEXITED(sb) || WEXITSTATUS(sb) != 12)
            return 3;
    }
    return 0;
}

static volatile int spin_stop;
static void *spinner(void *arg) {
    (void)arg;
    volatile unsigned long c = 0;
    while (!spin_stop) c++;
    return NULL;
}

static long exit_loops;
static int exit_code;
static void *exiter(void *arg) {
    (void)arg;
    volatile unsigned long c = 0;
    for (long i = 0; i < exit_loops; i++) c++;
    exit(exit_code); /* exit_group from a non-main thread */
    return NULL;
}

/* exit_from_thread CODE N: N spinning threads, and one more that spins a while and then calls
 * exit(CODE) while main waits in pthread_join for a spinner. */
static int mode_exit_from_thread(int code, int n) {
    exit_code = code;
    exit_loops = 2000000;
    pthread_t t[64];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, spinner, NULL) != 0) return 2;
    pthread_t e;
    if (pthread_create(&e, NULL, exiter, NULL) != 0) return 2;
    pthread_join(t[0], NULL);
    return 9; /* never: the exiter ends the process first */
}

static long per_thread;
static void *bp_worker(void *arg) {
    (void)arg;
    for (long i = 0; i < per_thread; i++) fault_fn(i);
    return NULL;
}

/* bp_count T N CODE: T threads each call fault_fn N times; exits CODE. */
static int mode_bp_count(int t, long n, int code) {
    pthread_t ts[64];
    per_thread = n;
    if (t > 64) t = 64;
    for (int i = 0; i < t; i++)
        if (pthread_create(&ts[i], NULL, bp_worker, NULL) != 0) return 2;
    for (int i = 0; i < t; i++) pthread_join(ts[i], NULL);
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: faults MODE [ARGS]\n");
        return 64;
    }
    const char *m = argv[1];
    long a = argc > 2 ? atol(argv[2]) : 0;
    long b = argc > 3 ? atol(argv[3]) : 0;
    long c = argc > 4 ? atol(argv[4]) : 0;
    if (!strcmp(m, "forkloop")) return mode_forkloop((int)a);
    if (!strcmp(m, "exit_from_thread")) return mode_exit_from_thread((int)a, (int)b);
    if (!strcmp(m, "bp_count")) return mode_bp_count((int)a, b, (int)c);
    fprintf(stderr, "faults: unknown mode %s\n", m);
    return 64;
}
