/* The traced program of the benchmarks (bench/README.md). One binary, one mode per workload:
 *
 *   target loop N      calls bench_hit() N times, then exits 0 (workloads 1, 2, 6)
 *   target spin        calls bench_spin(), which loops forever (workload 3: the tracer
 *                      breaks on bench_spin and single-steps from there)
 *   target mem         fills bench_mem (64 MiB), calls bench_ready() (where the tracer
 *                      breaks), then exits 0 (workload 4)
 *   target threads N   starts N threads blocked in pause(), writes "ready\n" to stdout, and
 *                      pauses (workload 5; the harness kills it)
 *   target idle N I    starts I threads blocked in pause(), then calls bench_hit() N times and
 *                      exits 0 (workload 12: tracepoints, all-stop and gdb with idle threads)
 *   target calls N S   calls bench_call() N times while S other threads spin, then exits 0
 *                      (workload 7: bench_call's first instruction is a call, which the
 *                      library cannot execute in place)
 *   target syscalls G W  G getpid, then W one-byte writes to /dev/null, each a raw
 *                      syscall(2), then exits 0 (workload 8)
 *   target forks N     forks N children one after the other, each exits 0 at once and is
 *                      reaped before the next; exits 0 (workload 11)
 *
 * Built without PIE (see the Makefile) so that the tracers know every address at link time:
 * the Makefile writes them into build/bench/target_addrs.h with nm. bench_unused() is never
 * called: its nop sled is where workload 2 puts its 1,000 other breakpoints.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_target.h"

volatile unsigned long bench_counter;
char bench_mem[BENCH_MEM_SIZE];

__attribute__((noinline, used)) void bench_hit(void) {
    bench_counter++;
    __asm__ volatile("" ::: "memory");
}

/* 4,096 one-byte nops that nothing executes. */
__attribute__((noinline, used)) void bench_unused(void) {
    __asm__ volatile(".fill 4096, 1, 0x90" ::: "memory");
}

__attribute__((noinline, used, noreturn)) void bench_spin(void) {
    for (;;) {
        bench_counter++;
        __asm__ volatile("" ::: "memory");
    }
}

__attribute__((noinline, used)) void bench_ready(void) {
    __asm__ volatile("" ::: "memory");
}

/* Its first instruction (after endbr64) is a call: the breakpoint of workload 7 goes on it. */
__attribute__((noinline, used)) void bench_call_inner(void) {
    bench_counter++;
    __asm__ volatile("" ::: "memory");
}
void bench_call(void);
void bench_call_site(void);
__asm__(".text\n"
        ".globl bench_call\n"
        ".type bench_call, @function\n"
        "bench_call:\n"
        "  endbr64\n"
        ".globl bench_call_site\n"
        "bench_call_site:\n"
        "  call bench_call_inner\n"
        "  ret\n"
        ".size bench_call, .-bench_call\n");

static volatile int spinning = 1;
static void *spinner(void *arg) {
    (void)arg;
    while (spinning) __asm__ volatile("" ::: "memory");
    return NULL;
}

static void *blocked(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "loop") == 0) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) bench_hit();
        return bench_counter == (unsigned long)n ? 0 : 1;
    }
    if (argc >= 2 && strcmp(argv[1], "spin") == 0) bench_spin();
    if (argc >= 2 && strcmp(argv[1], "mem") == 0) {
        for (size_t i = 0; i < BENCH_MEM_SIZE; i++) bench_mem[i] = (char)(i * 7 + 1);
        bench_ready();
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "threads") == 0) {
        long n = atol(argv[2]);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        for (long i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, blocked, NULL) != 0) {
                perror("pthread_create");
                return 2;
            }
        }
        if (write(1, "ready\n", 6) != 6) return 3;
        for (;;) pause();
    }
    if (argc >= 4 && strcmp(argv[1], "idle") == 0) {
        long n = atol(argv[2]), idle = atol(argv[3]);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        for (long i = 0; i < idle; i++) {
            pthread_t t;
            if (pthread_create(&t, &attr, blocked, NULL) != 0) return 2;
        }
        for (long i = 0; i < n; i++) bench_hit();
        return bench_counter == (unsigned long)n ? 0 : 1;
    }
    if (argc >= 3 && strcmp(argv[1], "forks") == 0) {
        long n = atol(argv[2]);
        for (long i = 0; i < n; i++) {
            pid_t c = fork();
            if (c < 0) return 2;
            if (c == 0) _exit(0);
            int st = 0;
            if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 1;
        }
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "calls") == 0) {
        long n = atol(argv[2]), s = atol(argv[3]);
        pthread_t t[16];
        if (s > 16) s = 16;
        for (long i = 0; i < s; i++)
            if (pthread_create(&t[i], NULL, spinner, NULL) != 0) return 2;
        for (long i = 0; i < n; i++) bench_call();
        spinning = 0;
        for (long i = 0; i < s; i++) pthread_join(t[i], NULL);
        return bench_counter == (unsigned long)n ? 0 : 1;
    }
        if (argc >= 4 && strcmp(argv[1], "syscalls") == 0) {
        long g = atol(argv[2]), w = atol(argv[3]);
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0) return 2;
        for (long i = 0; i < g; i++) syscall(SYS_getpid);
        for (long i = 0; i < w; i++)
            if (syscall(SYS_write, fd, "x", 1) != 1) return 3;
        return 0;
    }
    fprintf(stderr, "usage: target loop N | spin | mem | threads N | idle N I | calls N S | "
                    "syscalls G W | forks N\n");
    return 2;
}
