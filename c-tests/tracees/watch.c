/* The program the watchpoint tests trace, one mode per argv[1]. The watched variables are
 * globals the tests find by symbol (wvar, wbuf); the functions the tests break on are
 * noinline, and store_fn is written in assembly so that its first instruction is the store.
 * Built with -O1 -g -pthread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile long wvar[4] __attribute__((aligned(64)));
volatile long wbuf __attribute__((aligned(8)));
volatile long sink;

/* store_fn(v): wvar[0] = v, as one 7-byte instruction (48 89 3d rel32) at the symbol itself,
 * then ret. */
void store_fn(long v);
__asm__(".text\n"
        ".globl store_fn\n"
        ".type store_fn, @function\n"
        "store_fn:\n"
        "    movq %rdi, wvar(%rip)\n"
        "    ret\n"
        ".size store_fn, .-store_fn\n");

/* push_fn(): push %rbx (an instruction the engine executes in place under a breakpoint when
 * nothing watches the stack), pop %rbx, ret. */
void push_fn(void);
__asm__(".text\n"
        ".globl push_fn\n"
        ".type push_fn, @function\n"
        "push_fn:\n"
        "    push %rbx\n"
        "    pop %rbx\n"
        "    ret\n"
        ".size push_fn, .-push_fn\n");

/* A function the tests put an execute watchpoint (and maybe a breakpoint) on. */
__attribute__((noinline)) long target_fn(long x) {
    sink += x;
    return x * 2;
}

/* Reached once every worker thread exists (threads mode): a breakpoint place. */
__attribute__((noinline)) void watch_ready(void) {
    __asm__ volatile("" ::: "memory");
}

static pthread_barrier_t start;
static long per_thread;

static void *writer(void *arg) {
    long i = (long)arg;
    pthread_barrier_wait(&start);
    for (long v = 1; v <= per_thread; v++) wvar[i] = v;
    return NULL;
}

/* threads N: four threads; once all exist, watch_ready() is called, then each writes its own
 * wvar[i] = 1..N. */
static int mode_threads(long n) {
    pthread_t t[4];
    per_thread = n;
    pthread_barrier_init(&start, NULL, 5);
    for (long i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, writer, (void *)i) != 0) return 2;
    watch_ready();
    pthread_barrier_wait(&start);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    return 0;
}

static void *churn_one(void *arg) {
    wvar[0] = (long)arg;
    return NULL;
}

/* churn N: N threads one after another, each writes wvar[0] = its number (1..N) and exits. */
static int mode_churn(long n) {
    for (long k = 1; k <= n; k++) {
        pthread_t t;
        if (pthread_create(&t, NULL, churn_one, (void *)k) != 0) return 2;
        pthread_join(t, NULL);
    }
    return 0;
}

/* store N: store_fn(100), store_fn(101), ... N calls. */
static int mode_store(long n) {
    for (long i = 0; i < n; i++) store_fn(100 + i);
    return 0;
}

/* push N: push_fn called N times. */
static int mode_push(long n) {
    for (long i = 0; i < n; i++) push_fn();
    return 0;
}

/* call N: target_fn called N times. */
static int mode_call(long n) {
    long r = 0;
    for (long i = 0; i < n; i++) r += target_fn(i);
    return r == n * (n - 1) ? 0 : 4;
}

/* checksum N: sums target_fn's first 16 bytes of code, calls it N times, sums again: exit 0
 * when the code was not changed under the program's eyes (an int3 would be), 1 otherwise. */
static int mode_checksum(long n) {
    const volatile unsigned char *code = (const volatile unsigned char *)(void *)target_fn;
    unsigned before = 0, after = 0;
    for (int i = 0; i < 16; i++) before = before * 31 + code[i];
    for (long i = 0; i < n; i++) target_fn(i);
    for (int i = 0; i < 16; i++) after = after * 31 + code[i];
    /* A breakpoint set before the first sum shows there as 0xCC: compare with the file. */
    return (before == after && code[0] != 0xCC) ? 0 : 1;
}

/* read_into: the kernel writes wbuf (read from a pipe), then the program adds 1 to it. */
static int mode_read_into(void) {
    int p[2];
    if (pipe(p) != 0) return 2;
    if (write(p[1], "ABCDEFGH", 8) != 8) return 2;
    if (read(p[0], (void *)&wbuf, 8) != 8) return 2;
    wbuf = wbuf + 1;
    return memcmp((const void *)&wbuf, "BBCDEFGH", 8) == 0 ? 0 : 3;
}

/* reads: reads wvar[1], then writes wvar[2] = 1. */
static int mode_reads(void) {
    sink = wvar[1];
    wvar[2] = 1;
    return 0;
}

/* fork: the child writes wvar[0] ten times and exits 0; the parent waits for it, then writes
 * wvar[0] = 9 and exits 0 if the child exited normally with 0, 3 otherwise. */
static int mode_fork(void) {
    pid_t c = fork();
    if (c < 0) return 2;
    if (c == 0) {
        for (int i = 0; i < 10; i++) wvar[0] = 50 + i;
        _exit(0);
    }
    int st = 0;
    if (waitpid(c, &st, 0) != c) return 2;
    wvar[0] = 9;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 3;
}

/* detach: prints "ready", waits for one byte on stdin, then writes wvar[0] = 1..1000 with a
 * short pause every 100 writes, and exits 0. */
static int mode_detach(void) {
    printf("ready\n");
    fflush(stdout);
    char c;
    if (read(0, &c, 1) != 1) return 2;
    for (long v = 1; v <= 1000; v++) {
        wvar[0] = v;
        if (v % 100 == 0) usleep(1000);
    }
    return 0;
}

/* exec_store SELF: writes wvar[0] = 1, then execs SELF store 2. */
static int mode_exec_store(const char *self) {
    wvar[0] = 1;
    execl("/proc/self/exe", self, "store", "2", (char *)NULL);
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (!strcmp(m, "threads")) return mode_threads(n);
    if (!strcmp(m, "churn")) return mode_churn(n);
    if (!strcmp(m, "store")) return mode_store(n);
    if (!strcmp(m, "call")) return mode_call(n);
    if (!strcmp(m, "push")) return mode_push(n);
    if (!strcmp(m, "checksum")) return mode_checksum(n);
    if (!strcmp(m, "read_into")) return mode_read_into();
    if (!strcmp(m, "reads")) return mode_reads();
    if (!strcmp(m, "fork")) return mode_fork();
    if (!strcmp(m, "detach")) return mode_detach();
    if (!strcmp(m, "exec_store")) return mode_exec_store(argv[0]);
    fprintf(stderr, "watch: unknown mode %s\n", m);
    return 2;
}
