/* Tracee modes for the bug-hunt tests (tests/hunt_*.rs). One mode per argv[1]; modes a test
 * attaches to print "ready" first. Built with -O1 -g -pthread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* Raw system calls whose `syscall` instruction has a symbol, for breakpoints on it. */
long hunt_getpid(void);
long hunt_read(long fd, void *buf, long len);
__asm__(".text\n"
        ".globl hunt_getpid\n"
        ".type hunt_getpid, @function\n"
        "hunt_getpid:\n"
        "  mov $39, %eax\n"
        ".globl hunt_getpid_syscall\n"
        "hunt_getpid_syscall:\n"
        "  syscall\n"
        "  ret\n"
        ".size hunt_getpid, .-hunt_getpid\n"
        ".globl hunt_read\n"
        ".type hunt_read, @function\n"
        "hunt_read:\n"
        "  mov $0, %eax\n"
        ".globl hunt_read_syscall\n"
        "hunt_read_syscall:\n"
        "  syscall\n"
        "  ret\n"
        ".size hunt_read, .-hunt_read\n");

/* exit_group(code) by a raw system call. */
void hunt_exit_group(long code);
__asm__(".text\n"
        ".globl hunt_exit_group\n"
        ".type hunt_exit_group, @function\n"
        "hunt_exit_group:\n"
        "  mov $231, %eax\n"
        "  syscall\n"
        "  hlt\n"
        ".size hunt_exit_group, .-hunt_exit_group\n");

/* A function whose first instruction the library cannot execute in place (mov imm32 to
 * eax, not in sys/x86.rs), so continuing from a breakpoint on it single-steps. */
long hunt_fn(long i);
__asm__(".text\n"
        ".globl hunt_fn\n"
        ".type hunt_fn, @function\n"
        "hunt_fn:\n"
        "  mov $1, %eax\n"
        "  add %rdi, %rax\n"
        "  ret\n"
        ".size hunt_fn, .-hunt_fn\n");

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig) {
    (void)sig;
    usr1_count++;
}

/* sysbp N: calls hunt_getpid N times; exits 0 if every call returned our pid. */
static int mode_sysbp(long n) {
    long me = getpid();
    for (long i = 0; i < n; i++)
        if (hunt_getpid() != me) return 3;
    return 0;
}

/* readstdin: one hunt_read of fd 0; exits 0 if it read one byte or more. */
static int mode_readstdin(void) {
    char c;
    long r = hunt_read(0, &c, 1);
    say("read %ld", r);
    return r >= 1 ? 0 : 3;
}

/* readblock: a worker reads a pipe (hunt_read); main writes the byte only after the worker
 * has started its read and 300 ms have passed. Exits 0 if the worker got the byte. */
static int pfd[2];
static atomic_int about_to_read;
static long worker_result = -100;
static void *reader(void *arg) {
    (void)arg;
    char c;
    atomic_store(&about_to_read, 1);
    worker_result = hunt_read(pfd[0], &c, 1);
    return NULL;
}
static int mode_readblock(void) {
    if (pipe(pfd) != 0) return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, reader, NULL) != 0) return 2;
    while (!atomic_load(&about_to_read)) sched_yield();
    struct timespec ts = {0, 300 * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    if (write(pfd[1], "x", 1) != 1) return 2;
    pthread_join(t, NULL);
    say("worker read %ld", worker_result);
    return worker_result == 1 ? 0 : 3;
}

/* sigstep: a SIGUSR1 handler; raises SIGUSR1; exits 0 if the handler ran once. */
static int mode_sigstep(void) {
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    return usr1_count == 1 ? 0 : 3;
}

/* trapblock N / trapign N: SIGTRAP blocked (or ignored), then hunt_fn N times; exit 0. */
static int mode_trap(int block, long n) {
    if (block) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTRAP);
        sigprocmask(SIG_BLOCK, &s, NULL);
    } else {
        signal(SIGTRAP, SIG_IGN);
    }
    long sum = 0;
    for (long i = 0; i < n; i++) sum += hunt_fn(i);
    return sum == n * (n + 1) / 2 ? 0 : 3;
}

/* bp_exit T: T threads call hunt_fn forever; main calls it 200 times then exit(3). Prints
 * ready first (for attach). */
static void *fn_forever(void *arg) {
    (void)arg;
    for (long i = 0;; i++) hunt_fn(i);
    return NULL;
}
static int mode_bp_exit(int t) {
    for (int i = 0; i < t; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, fn_forever, NULL) != 0) return 2;
    }
    say("ready");
    for (long i = 0; i < 200; i++) hunt_fn(i);
    exit(3);
}

/* bp_exec T PROG: T threads call hunt_fn forever; another calls it 100 times then execs
 * PROG exit 5. */
static char *self_path;
static void *exec_later(void *arg) {
    (void)arg;
    for (long i = 0; i < 100; i++) hunt_fn(i);
    char *argv[] = {self_path, "exit", "5", NULL};
    execv("/proc/self/exe", argv);
    _exit(9);
    return NULL;
}
static int mode_bp_exec(int t) {
    for (int i = 0; i < t; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, fn_forever, NULL) != 0) return 2;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, exec_later, NULL) != 0) return 2;
    for (;;) pause();
}

/* exit_wait: prints ready, waits for SIGUSR1 (handler), then all threads (T of them) exit via
 * exit(4). */
static void *block_forever(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}
static int mode_threads_exit_on_usr1(int t) {
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < t; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, block_forever, NULL) != 0) return 2;
    }
    say("ready");
    while (!usr1_count) pause();
    exit(4);
}

/* spawn_then_bp: one thread creates threads in a loop (each short-lived calling hunt_fn
 * once) while main calls hunt_fn in a loop; N rounds; exit 0. */
static void *call_once(void *arg) {
    hunt_fn((long)arg);
    return NULL;
}
static int mode_spawn_bp(long n) {
    for (long i = 0; i < n; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, call_once, (void *)i) != 0) return 2;
        hunt_fn(i);
        pthread_join(th, NULL);
    }
    return 0;
}

/* exitgrp_bp: a worker spins until a tracer sets hunt_go, then calls exit_group(3); main
 * calls hunt_fn forever. */
volatile long hunt_go;
static atomic_int spinning;
static void *go_then_exit(void *arg) {
    (void)arg;
    atomic_store(&spinning, 1);
    while (!hunt_go) {}
    hunt_exit_group(3);
    return NULL;
}
static int mode_exitgrp_bp(void) {
    pthread_t th;
    if (pthread_create(&th, NULL, go_then_exit, NULL) != 0) return 2;
    while (!atomic_load(&spinning)) {}
    for (long i = 0;; i++) hunt_fn(i);
}

int main(int argc, char **argv) {
    if (argc < 2) return 64;
    self_path = argv[0];
    const char *m = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (!strcmp(m, "exit")) return (int)n;
    if (!strcmp(m, "sysbp")) return mode_sysbp(n);
    if (!strcmp(m, "readstdin")) return mode_readstdin();
    if (!strcmp(m, "readblock")) return mode_readblock();
    if (!strcmp(m, "sigstep")) return mode_sigstep();
    if (!strcmp(m, "trapblock")) return mode_trap(1, n);
    if (!strcmp(m, "trapign")) return mode_trap(0, n);
    if (!strcmp(m, "bp_exit")) return mode_bp_exit((int)n);
    if (!strcmp(m, "bp_exec")) return mode_bp_exec((int)n);
    if (!strcmp(m, "exit_on_usr1")) return mode_threads_exit_on_usr1((int)n);
    if (!strcmp(m, "exitgrp_bp")) return mode_exitgrp_bp();
    if (!strcmp(m, "spawn_bp")) return mode_spawn_bp(n);
    fprintf(stderr, "hunt: unknown mode %s\n", m);
    return 64;
}
