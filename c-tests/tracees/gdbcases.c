/* Tracee for tests/gdb_cases.rs: three cases from gdb's testsuite that once broke the library
 * (issue 11). One mode per argv[1]. Built with -O1 -g -pthread.
 *
 *   exec-thread   a second thread calls execve(self, "exec-done") by a raw system call while
 *                 main waits in pthread_join and two more threads spin (gdb.threads/
 *                 non-ldr-exc-*.exp); the new image exits with 7.
 *   exec-leader   the same, but main calls execve itself (two threads spinning).
 *   exit-thread   the same as exec-thread, but the second thread calls exit_group(5).
 *   own-int3 [handler]
 *                 calls own_trap (an int3 of the program's own, gdb.base/bp-permanent.exp) 5
 *                 times; with "handler" a SIGTRAP handler counts the traps and the program
 *                 exits 0 when every int3 was handled once (1 otherwise); without one, the
 *                 first SIGTRAP kills it, as in an untraced run.
 *   detach-step N has N threads run through hot (whose first instruction, an imul, is not one
 *                 the library executes in place) in a loop (gdb.threads/detach-step-over.exp).
 *                 Prints "ready"; then per line on stdin: "p" answers "ok" once every thread
 *                 went through hot again ("stuck" after 10 s), "q" ends the threads and the
 *                 program with 0.
 *   read-loop N   N threads spin; main reads stdin a byte at a time by a raw read (a breakpoint
 *                 can sit on its `syscall`). Prints "ready"; answers "got" to each byte but 'q',
 *                 which ends the program with 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* execve(path, argv, envp) and exit_group(code) by raw system calls, so a breakpoint (or a
 * single step) can sit exactly on their `syscall` instruction. */
long gdb_execve(const char *path, char *const argv[], char *const envp[]);
long gdb_read(long fd, void *buf, long len);
void gdb_exit_group(long code);
/* An int3 of the program's own, then a return. */
void own_trap(void);
/* One non-emulated instruction, then a return: imul is no instruction the library executes in
 * place, so every pass over a breakpoint on hot is a single step. */
int hot(int x);
__asm__(".text\n"
        ".globl gdb_execve\n"
        ".type gdb_execve, @function\n"
        "gdb_execve:\n"
        "  mov $59, %eax\n"
        ".globl gdb_execve_syscall\n"
        "gdb_execve_syscall:\n"
        "  syscall\n"
        "  ret\n"
        ".size gdb_execve, .-gdb_execve\n"
        ".globl gdb_read\n"
        ".type gdb_read, @function\n"
        "gdb_read:\n"
        "  mov $0, %eax\n"
        ".globl gdb_read_syscall\n"
        "gdb_read_syscall:\n"
        "  syscall\n"
        "  ret\n"
        ".size gdb_read, .-gdb_read\n"
        ".globl gdb_exit_group\n"
        ".type gdb_exit_group, @function\n"
        "gdb_exit_group:\n"
        "  mov $231, %eax\n"
        ".globl gdb_exit_group_syscall\n"
        "gdb_exit_group_syscall:\n"
        "  syscall\n"
        "  hlt\n"
        ".size gdb_exit_group, .-gdb_exit_group\n"
        ".globl own_trap\n"
        ".type own_trap, @function\n"
        "own_trap:\n"
        "  int3\n"
        ".globl own_trap_after\n"
        "own_trap_after:\n"
        "  ret\n"
        ".size own_trap, .-own_trap\n"
        ".globl hot\n"
        ".type hot, @function\n"
        "hot:\n"
        "  imul $3, %edi, %eax\n"
        "  ret\n"
        ".size hot, .-hot\n");

static char self_path[4096];
static atomic_int stop_spinning;

static void *spin(void *arg) {
    (void)arg;
    volatile unsigned long n = 0;
    while (!atomic_load(&stop_spinning)) n++;
    return NULL;
}

/* The thread the test stops and steps into execve or exit_group. */
static void *ender(void *arg) {
    if (strcmp(arg, "exec") == 0) {
        char *argv[] = {"gdbcases", "exec-done", NULL};
        char *envp[] = {NULL};
        gdb_execve(self_path, argv, envp);
        _exit(99); /* exec failed */
    }
    gdb_exit_group(5);
    return NULL;
}

static int ending_thread(const char *what) {
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) return 98;
    self_path[n] = 0;
    pthread_t spinners[2], t;
    for (int i = 0; i < 2; i++) pthread_create(&spinners[i], NULL, spin, NULL);
    if (strcmp(what, "leader-exec") == 0) {
        ender("exec");
        return 96;
    }
    pthread_create(&t, NULL, ender, (void *)what);
    pthread_join(t, NULL);
    return 97; /* not reached: the exec or the exit takes the whole process */
}

/* ----- own-int3 ------------------------------------------------------------------------- */

volatile int trap_calls;   /* how many times own_trap was called */
volatile int traps_handled; /* how many SIGTRAPs the handler saw */

static void on_trap(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    /* The kernel's report of an int3: si_code SI_KERNEL. */
    if (si->si_code == SI_KERNEL) traps_handled++;
}

static int own_int3(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[2], "handler") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_trap;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGTRAP, &sa, NULL);
    }
    for (int i = 0; i < 5; i++) {
        trap_calls++;
        own_trap();
    }
    return traps_handled == trap_calls ? 0 : 1;
}

/* ----- detach-step ---------------------------------------------------------------------- */

#define MAX_WORKERS 16
static atomic_ulong passes[MAX_WORKERS];
static atomic_int quit;

static void *worker(void *arg) {
    long i = (long)arg;
    int x = 1;
    while (!atomic_load(&quit)) {
        x = hot(x) | 1;
        atomic_fetch_add(&passes[i], 1);
    }
    return (void *)(long)x;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int detach_step(int argc, char **argv) {
    int n = argc > 2 ? atoi(argv[2]) : 4;
    if (n < 1 || n > MAX_WORKERS) return 2;
    pthread_t t[MAX_WORKERS];
    for (long i = 0; i < n; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    printf("ready\n");
    fflush(stdout);
    char line[16];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == 'q') break;
        if (line[0] != 'p') continue;
        unsigned long before[MAX_WORKERS];
        for (int i = 0; i < n; i++) before[i] = atomic_load(&passes[i]);
        long long deadline = now_ms() + 10000;
        int all = 0;
        while (!all && now_ms() < deadline) {
            all = 1;
            for (int i = 0; i < n; i++) all &= atomic_load(&passes[i]) > before[i];
            if (!all) sched_yield();
        }
        printf(all ? "ok\n" : "stuck\n");
        fflush(stdout);
    }
    atomic_store(&quit, 1);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    return 0;
}

/* ----- read-loop ------------------------------------------------------------------------ */

static int read_loop(int argc, char **argv) {
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (n < 0 || n > MAX_WORKERS) return 2;
    pthread_t t[MAX_WORKERS];
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, spin, NULL);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        char c;
        long r = gdb_read(0, &c, 1);
        if (r == -4 /* EINTR */) continue;
        if (r != 1) return 3;
        if (c == 'q') break;
        printf("got\n");
        fflush(stdout);
    }
    atomic_store(&stop_spinning, 1);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "exec-thread") == 0) return ending_thread("exec");
    if (strcmp(mode, "exec-leader") == 0) return ending_thread("leader-exec");
    if (strcmp(mode, "exit-thread") == 0) return ending_thread("exit");
    if (strcmp(mode, "exec-done") == 0) return 7;
    if (strcmp(mode, "own-int3") == 0) return own_int3(argc, argv);
    if (strcmp(mode, "detach-step") == 0) return detach_step(argc, argv);
    if (strcmp(mode, "read-loop") == 0) return read_loop(argc, argv);
    fprintf(stderr, "usage: gdbcases exec-thread|exec-leader|exit-thread|own-int3 [handler]|detach-step N|read-loop N\n");
    return 2;
}
