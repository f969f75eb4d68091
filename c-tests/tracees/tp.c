/* Tracee for tracepoints, conditional breakpoints and range stepping (tests/tracepoints.rs,
 * c-tests/test_tracepoints.c, bench).
 *
 *   tp hits THREADS N [IDLE]  IDLE threads sleep in pause(); THREADS threads each call
 *                             tp_target(i) for i = 0..N-1 (its first instruction executes in
 *                             place) and tp_ool(i) once (out of line: a call); exits 0 when
 *                             every call happened.
 *   tp range                  calls tp_range once: a loop of known length (see below), then
 *                             tp_range_inner's breakpoint site; exits 0.
 *   tp forever                one thread calls tp_target in a loop until killed.
 *   tp syscalls N             makes N getppid calls (2 threads, N/2 each); exits 0.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile long tp_sum;

/* tp_target(i): adds i to tp_sum. Its first instruction (mov) is executed in place by the
 * engine; a tracepoint on it reads i in rdi. */
long tp_target(long i);
__asm__(".text\n"
        ".globl tp_target\n"
        ".type tp_target, @function\n"
        "tp_target:\n"
        "  mov %rdi, %rax\n"
        "  lock add %rax, tp_sum(%rip)\n"
        "  ret\n"
        ".size tp_target, .-tp_target\n");

/* tp_ool(i): its first instruction is a call, which the engine steps out of line. */
long tp_ool(long i);
__asm__(".text\n"
        ".globl tp_ool\n"
        ".type tp_ool, @function\n"
        "tp_ool:\n"
        "  call tp_target\n"
        "  ret\n"
        ".size tp_ool, .-tp_ool\n");

/* tp_range: rcx counts 100 down to 0 in a loop of three instructions (dec, nop, jnz): from
 * tp_range_start to tp_range_end the thread executes 1 + 3*100 = 301 instructions, and the first
 * instruction past the range is tp_range_end. Then tp_range_inner (inside a second range) is a
 * breakpoint site for the early-stop test: from tp_range2_start, 2 instructions reach it. */
void tp_range(void);
__asm__(".text\n"
        ".globl tp_range\n"
        ".type tp_range, @function\n"
        "tp_range:\n"
        ".globl tp_range_start\n"
        "tp_range_start:\n"
        "  mov $100, %ecx\n"
        ".globl tp_range_loop\n"
        "tp_range_loop:\n"
        "1:\n"
        "  dec %ecx\n"
        "  nop\n"
        "  jnz 1b\n"
        ".globl tp_range_end\n"
        "tp_range_end:\n"
        ".globl tp_range2_start\n"
        "tp_range2_start:\n"
        "  nop\n"
        "  nop\n"
        ".globl tp_range_inner\n"
        "tp_range_inner:\n"
        "  nop\n"
        "  nop\n"
        ".globl tp_range2_end\n"
        "tp_range2_end:\n"
        "  ret\n"
        ".size tp_range, .-tp_range\n");

static long n_calls;
static pthread_barrier_t start;

static void *worker(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    for (long i = 0; i < n_calls; i++)
        tp_target(i);
    tp_ool(n_calls);
    return NULL;
}

static void *getppider(void *arg) {
    (void)arg;
    for (long i = 0; i < n_calls; i++)
        syscall(SYS_getppid);
    return NULL;
}

static void *idler(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "hits") == 0) {
        int threads = atoi(argv[2]);
        n_calls = atol(argv[3]);
        int idle = argc >= 5 ? atoi(argv[4]) : 0;
        pthread_t t[256], it;
        if (threads < 1 || threads > 256)
            return 2;
        for (int i = 0; i < idle; i++)
            pthread_create(&it, NULL, idler, NULL);
        pthread_barrier_init(&start, NULL, threads);
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, worker, NULL);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        long n = n_calls, want = threads * (n * (n - 1) / 2 + n);
        if (tp_sum != want) {
            fprintf(stderr, "tp: sum %ld, want %ld\n", tp_sum, want);
            return 1;
        }
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "range") == 0) {
        tp_range();
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "syscalls") == 0) {
        n_calls = atol(argv[2]) / 2;
        pthread_t t[2];
        for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, getppider, NULL);
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "forever") == 0) {
        for (long i = 0;; i++)
            tp_target(i);
    }
    fprintf(stderr, "usage: tp hits THREADS N [IDLE] | range | forever\n");
    return 2;
}
