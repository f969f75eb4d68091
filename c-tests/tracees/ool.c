/* Tracee for the out-of-line step tests (tests/out_of_line.rs): breakpoints on instructions the
 * engine cannot execute in place, shared by threads, some blocked in them.
 *
 *   ool syscalls CALLERS N   threads blocked in read/nanosleep/futex through one `syscall`
 *                            (raw_syscall's rsc_insn) while CALLERS threads make N getppid
 *                            calls each through it; prints nothing, exits 0 if all is right.
 *   ool hits THREADS N       THREADS threads call hit_target (its first instruction is a call)
 *                            N times each; exits 0 if the count is THREADS*N.
 *   ool block                calls ool_block (one instruction of each class) twice.
 *   ool fault                ool_fault writes to address 0 (SIGSEGV).
 *   ool fork_exec WHAT       a thread blocked in read through rsc_insn while the main thread
 *                            does WHAT: fork (libc), rawfork (through rsc_insn), exec, wait
 *                            (blocks until the test detaches or kills).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One `syscall` instruction for every call: the breakpoint goes on rsc_insn. */
long raw_syscall(long nr, long a, long b, long c, long d);
__asm__(".text\n"
        ".globl raw_syscall\n"
        ".type raw_syscall, @function\n"
        "raw_syscall:\n"
        "  mov %rdi, %rax\n"
        "  mov %rsi, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  mov %rcx, %rdx\n"
        "  mov %r8, %r10\n"
        ".globl rsc_insn\n"
        "rsc_insn:\n"
        "  syscall\n"
        "  ret\n"
        ".size raw_syscall, .-raw_syscall\n");

static int fail(const char *what) {
    fprintf(stderr, "ool: %s\n", what);
    exit(99);
}

/* Waits (20 s at most) until thread `tid` of this process sits in system call `nr`, or in
 * restart_syscall (a nanosleep the tracer interrupted continues as that), as /proc says. */
static void wait_blocked(pid_t tid, long nr) {
    char path[64], buf[128];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    do {
        FILE *f = fopen(path, "r");
        if (f) {
            long got = -2;
            if (fgets(buf, sizeof buf, f)) got = strtol(buf, NULL, 10);
            fclose(f);
            if (got == nr || got == SYS_restart_syscall) return;
        }
        sched_yield();
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 20);
    fail("a thread never blocked");
}

static int pipefd[2];
static int futex_word;
static pid_t reader_tid, sleeper_tid, waiter_tid;
static long reader_result, sleeper_result, waiter_result;
static char reader_byte;
static volatile int got_usr1;

static void on_usr1(int sig) {
    (void)sig;
    got_usr1 = 1;
}

static void *reader(void *arg) {
    (void)arg;
    reader_tid = gettid();
    reader_result = raw_syscall(SYS_read, pipefd[0], (long)&reader_byte, 1, 0);
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    struct timespec ts = {100000, 0};
    sleeper_tid = gettid();
    sleeper_result = raw_syscall(SYS_nanosleep, (long)&ts, 0, 0, 0);
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    waiter_tid = gettid();
    waiter_result = raw_syscall(SYS_futex, (long)&futex_word, FUTEX_WAIT_PRIVATE, 0, 0);
    return NULL;
}

static long per_caller;
static long caller_errors;

static void *caller(void *arg) {
    (void)arg;
    for (long i = 0; i < per_caller; i++)
        if (raw_syscall(SYS_getppid, 0, 0, 0, 0) != getppid()) __atomic_add_fetch(&caller_errors, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), pid_t *tid) {
    if (pthread_create(t, NULL, fn, NULL)) fail("pthread_create");
    while (!__atomic_load_n(tid, __ATOMIC_SEQ_CST)) sched_yield();
}

/* Hits through rsc_insn: 3 blocking calls, CALLERS*N getppid, 1 write, 1 futex wake. The
 * nanosleep ends by SIGUSR1 (a handler without SA_RESTART: -EINTR). */
static int mode_syscalls(int callers, long n) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    if (pipe(pipefd)) fail("pipe");
    pthread_t r, s, w, c[64];
    start(&r, reader, &reader_tid);
    start(&s, sleeper, &sleeper_tid);
    start(&w, waiter, &waiter_tid);
    wait_blocked(reader_tid, SYS_read);
    wait_blocked(sleeper_tid, SYS_nanosleep);
    wait_blocked(waiter_tid, SYS_futex);
    per_caller = n;
    if (callers > 64) callers = 64;
    for (int i = 0; i < callers; i++) pthread_create(&c[i], NULL, caller, NULL);
    for (int i = 0; i < callers; i++) pthread_join(c[i], NULL);
    if (raw_syscall(SYS_write, pipefd[1], (long)"x", 1, 0) != 1) fail("write");
    pthread_join(r, NULL);
    /* The waiter may be between an interrupted wait and its restart (the tracer stopped it):
     * then the wake finds nobody, and the restarted wait sees 1 and returns -EAGAIN. */
    __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
    raw_syscall(SYS_futex, (long)&futex_word, FUTEX_WAKE_PRIVATE, 1, 0);
    pthread_join(w, NULL);
    pthread_kill(s, SIGUSR1);
    pthread_join(s, NULL);
    if (caller_errors) fail("getppid through raw_syscall gave a wrong answer");
    if (reader_result != 1 || reader_byte != 'x') fail("read");
    if (sleeper_result != -EINTR || !got_usr1) fail("nanosleep was not interrupted by SIGUSR1");
    if (waiter_result != 0 && waiter_result != -EAGAIN) fail("futex wait");
    return 0;
}

/* hit_target's first instruction is a call (not executed in place by the engine). */
long hit_count;
void hit_target(void);
__asm__(".text\n"
        ".globl hit_target\n"
        ".type hit_target, @function\n"
        "hit_target:\n"
        "  call hit_inner\n"
        "  ret\n"
        "hit_inner:\n"
        "  lock incq hit_count(%rip)\n"
        "  ret\n"
        ".size hit_target, .-hit_target\n");

static long hits_each;
static void *hitter(void *arg) {
    (void)arg;
    for (long i = 0; i < hits_each; i++) hit_target();
    return NULL;
}

static int mode_hits(int threads, long n) {
    pthread_t t[64];
    hits_each = n;
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, hitter, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    if (hit_count != threads * n) { fprintf(stderr, "hit_count %ld\n", hit_count); fail("hit_count"); }
    printf("hits %ld\n", hit_count);
    return 0;
}

/* One instruction of each class the out-of-line step relocates or fixes up. The test puts a
 * breakpoint on every instruction between ool_block and ool_block_end and compares each state
 * with a run that single-steps them. ool_block(a) returns a value that depends on each. */
long ool_data[2] = {0x1122334455667788, 0x55};
long ool_vec[2] = {0x0102030405060708, 0x1112131415161718};
long ool_out[2];
long ool_leaf(void);
long (*ool_fnptr)(void) = ool_leaf;
long ool_block(long a);
__asm__(".text\n"
        ".globl ool_block\n"
        ".type ool_block, @function\n"
        "ool_block:\n"
        "  push %rbx\n"
        "  push %r12\n"
        "  lea ool_data(%rip), %rbx\n"         /* rip-relative lea */
        "  mov ool_data(%rip), %r8\n"          /* rip-relative load (in place) */
        "  movl ool_data+8(%rip), %ecx\n"      /* rip-relative 32-bit load */
        "  cmp %rdi, ool_data(%rip)\n"         /* rip-relative cmp */
        "  movups ool_vec(%rip), %xmm0\n"      /* SSE load, rip-relative */
        "  movq %xmm0, %r12\n"
        "  mov %rdi, ool_out(%rip)\n"          /* rip-relative store */
        "  addl $3, ool_out+8(%rip)\n"         /* rip-relative with an immediate after it */
        "  mov ool_out(%rip), %rbx\n"          /* base register itself loaded rip-relative */
        "  call ool_leaf\n"                    /* call rel32 */
        "  add %rax, %r12\n"
        "  call *ool_fnptr(%rip)\n"            /* call [rip+d] */
        "  add %rax, %r12\n"
        "  jmp 1f\n"                           /* jmp */
        "  ud2\n"
        "1:\n"
        "  test %rdi, %rdi\n"
        "  jz 2f\n"                            /* jcc, taken when a == 0 */
        "  inc %rcx\n"
        "2:\n"
        "  jnz 3f\n"                           /* jcc rel32-free short form, other way */
        "  add $5, %rcx\n"
        "3:\n"
        "  mov $3, %ecx\n"
        "4:\n"
        "  add %rcx, %r12\n"
        "  loop 4b\n"                          /* loop */
        "  push %rdi\n"
        "  pop %rdx\n"                         /* pop */
        "  mov $110, %eax\n"
        "  syscall\n"                          /* getppid */
        "  add %rdx, %rax\n"
        "  add %r12, %rax\n"
        "  pop %r12\n"
        "  pop %rbx\n"
        "  ret\n"                              /* ret (to C) */
        ".globl ool_leaf\n"
        "ool_leaf:\n"
        "  mov $7, %eax\n"
        "  ret\n"                              /* ret (to the block) */
        ".globl ool_block_end\n"
        "ool_block_end:\n"
        ".size ool_block, .-ool_block\n");

static int mode_block(void) {
    long r = ool_block(0) + ool_block(1);
    printf("block %ld %ld\n", r, ool_out[1]);
    return 0;
}

void ool_fault(void);
__asm__(".text\n"
        ".globl ool_fault\n"
        ".type ool_fault, @function\n"
        "ool_fault:\n"
        "  xor %eax, %eax\n"
        ".globl ool_fault_insn\n"
        "ool_fault_insn:\n"
        "  movl $1, (%rax)\n"
        "  ret\n"
        ".size ool_fault, .-ool_fault\n");

static int mode_fault(void) {
    ool_fault();
    return 0;
}

/* A thread blocked in read through rsc_insn while the main thread forks, execs or waits. */
static int mode_fork_exec(const char *what, char **argv) {
    /* SIGUSR2 (mode wait) is for sigwait: blocked in every thread. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    if (pipe(pipefd)) fail("pipe");
    pthread_t r;
    start(&r, reader, &reader_tid);
    wait_blocked(reader_tid, SYS_read);
    if (!strcmp(what, "fork") || !strcmp(what, "rawfork")) {
        pid_t child = !strcmp(what, "fork") ? fork() : (pid_t)raw_syscall(SYS_fork, 0, 0, 0, 0);
        if (child < 0) fail("fork");
        if (child == 0) {
            /* the child must run on normally: a call through rsc_insn and a clean exit */
            _exit(raw_syscall(SYS_getppid, 0, 0, 0, 0) > 0 ? 42 : 1);
        }
        int st;
        if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 42)
            fail("the fork child did not exit with 42");
        if (raw_syscall(SYS_write, pipefd[1], (long)"x", 1, 0) != 1) fail("write");
        pthread_join(r, NULL);
        if (reader_result != 1) fail("read");
        printf("forked ok\n");
        return 0;
    }
    if (!strcmp(what, "exec")) {
        char *args[] = {argv[0], "hits", "1", "3", NULL};
        execv("/proc/self/exe", args);
        fail("execv");
    }
    if (!strcmp(what, "wait")) {
        /* the test stops here (a breakpoint hit on rsc_insn below), then detaches (looks at
         * the process, and sends SIGUSR2 to let it finish) or kills */
        raw_syscall(SYS_getppid, 0, 0, 0, 0);
        int got;
        if (sigwait(&usr2, &got) != 0) fail("sigwait");
        if (raw_syscall(SYS_write, pipefd[1], (long)"x", 1, 0) != 1) fail("write");
        pthread_join(r, NULL);
        if (reader_result != 1) fail("read");
        return 0;
    }
    return fail("unknown fork_exec mode");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) return 64;
    const char *m = argv[1];
    if (!strcmp(m, "syscalls") && argc > 3) return mode_syscalls(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(m, "hits") && argc > 3) return mode_hits(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(m, "block")) return mode_block();
    if (!strcmp(m, "fault")) return mode_fault();
    if (!strcmp(m, "fork_exec") && argc > 2) return mode_fork_exec(argv[2], argv);
    return 64;
}
