/* The programs the tests trace, one mode per argv[1]. Each mode that a test attaches to prints
 * "ready" on stdout once it is in the state the test wants; everything it reports goes to
 * stdout, one line at a time, flushed. Built with -O1 -g -pthread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void *block_forever(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static void *spin_forever(void *arg) {
    volatile unsigned long *counter = arg;
    for (;;) (*counter)++;
    return NULL;
}

/* threads N: N extra threads blocked forever (pause); prints ready. */
static int mode_threads(int n) {
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, block_forever, NULL) != 0) return 2;
    }
    say("ready");
    for (;;) pause();
}

/* spin N: N extra threads spinning in user code, main spins too; prints ready. */
static int mode_spin(int n) {
    static volatile unsigned long counters[64];
    for (int i = 0; i < n && i < 63; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, spin_forever, (void *)&counters[i + 1]) != 0) return 2;
    }
    say("ready");
    spin_forever((void *)&counters[0]);
    return 0;
}

static void *short_lived(void *arg) {
    (void)arg;
    volatile int x = 0;
    for (int i = 0; i < 1000; i++) x += i;
    return NULL;
}

static void *churn_worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, NULL) == 0) pthread_join(t, NULL);
    }
    return NULL;
}

/* churn N: N workers each creating and joining short-lived threads forever; prints ready. */
static int mode_churn(int n) {
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, churn_worker, NULL) != 0) return 2;
    }
    say("ready");
    for (;;) pause();
}

static int exit_after_seconds = 0;
static void *exit_later(void *arg) {
    (void)arg;
    sleep((unsigned)exit_after_seconds);
    exit(7);
    return NULL;
}

/* pthread_exit_main: main starts a worker then calls pthread_exit (becoming a zombie leader);
 * the worker prints ready with its tid and blocks. With "exit", the worker exits(7) when
 * it receives SIGUSR1. */
static void on_usr1_exit(int sig) {
    (void)sig;
    _exit(7);
}
static void *zombie_worker(void *arg) {
    (void)arg;
    /* Wait until the leader is a zombie so "ready" means what the test needs. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", getpid(), getpid());
    for (int i = 0; i < 10000; i++) {
        FILE *f = fopen(path, "r");
        if (!f) break;
        char buf[512];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (p && p[2] == 'Z') break;
        usleep(1000);
    }
    say("ready %ld", (long)syscall(SYS_gettid));
    for (;;) pause();
    return NULL;
}
static int mode_pthread_exit_main(void) {
    signal(SIGUSR1, on_usr1_exit);
    pthread_t t;
    if (pthread_create(&t, NULL, zombie_worker, NULL) != 0) return 2;
    pthread_exit(NULL);
}

/* sigusr1: a handler counts SIGUSR1; the program raises it on itself, then exits 0 if the
 * handler ran, 3 if not. */
static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig) {
    (void)sig;
    usr1_count++;
}
static int mode_sigusr1(void) {
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    say("handler ran %d", (int)usr1_count);
    return usr1_count == 1 ? 0 : 3;
}

/* sigtrap: raises SIGTRAP with a handler installed; exits 0 if the handler ran. */
static volatile sig_atomic_t trap_count;
static void on_trap(int sig) {
    (void)sig;
    trap_count++;
}
static int mode_sigtrap(void) {
    signal(SIGTRAP, on_trap);
    raise(SIGTRAP);
    return trap_count == 1 ? 0 : 3;
}

/* exec_from_thread PROGRAM [ARGS...]: starts 3 blocked threads and a 4th that execs PROGRAM. */
static char **exec_argv;
static void *exec_thread(void *arg) {
    (void)arg;
    execv(exec_argv[0], exec_argv);
    say("exec failed: %s", strerror(errno));
    exit(5);
    return NULL;
}
static int mode_exec_from_thread(char **argv) {
    exec_argv = argv;
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, block_forever, NULL) != 0) return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, exec_thread, NULL) != 0) return 2;
    for (;;) pause();
}

/* forks: fork and vfork children that exit with known codes; exit 0 if both came back right. */
static int mode_forks(void) {
    pid_t a = fork();
    if (a == 0) _exit(11);
    pid_t b = vfork();
    if (b == 0) _exit(12);
    int sa = 0, sb = 0;
    if (waitpid(a, &sa, 0) != a || waitpid(b, &sb, 0) != b) return 4;
    say("fork child %d vfork child %d", WEXITSTATUS(sa), WEXITSTATUS(sb));
    return (WIFEXITED(sa) && WEXITSTATUS(sa) == 11 && WIFEXITED(sb) && WEXITSTATUS(sb) == 12) ? 0 : 3;
}

/* clone_exit: creates one thread that exits with pthread_exit, joins it, exits 0. */
static void *exiting_thread(void *arg) {
    (void)arg;
    return NULL;
}
static int mode_clone_exit(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, exiting_thread, NULL) != 0) return 2;
    pthread_join(t, NULL);
    return 0;
}

/* env NAME: prints the variable's value (or "(unset)"). cwd: prints the working directory. */
static int mode_env(const char *name) {
    const char *v = getenv(name);
    say("%s", v ? v : "(unset)");
    return 0;
}
static int mode_cwd(void) {
    char buf[4096];
    if (!getcwd(buf, sizeof buf)) return 2;
    say("%s", buf);
    return 0;
}

/* fds: prints the open descriptors above 2, space separated ("none" if none). */
static int mode_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 2;
    int self = dirfd(d);
    char out[4096] = "";
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2 || fd == self) continue;
        char path[64], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        size_t len = strlen(out);
        snprintf(out + len, sizeof out - len, "%s%d:%s", len ? " " : "", fd, target);
    }
    closedir(d);
    say("%s", out[0] ? out : "none");
    return 0;
}

/* stack_addr: prints the address of a local (for ASLR checks). */
static int mode_stack_addr(void) {
    int local = 0;
    say("%p", (void *)&local);
    return 0;
}

/* echo: copies stdin to stdout, then exits 0. */
static int mode_echo(void) {
    char buf[256];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n) return 2;
    return 0;
}

/* sleeper: prints ready and sleeps (in nanosleep) until killed; SIGUSR1 makes it exit 7. */
static int mode_sleeper(void) {
    signal(SIGUSR1, on_usr1_exit);
    say("ready");
    for (;;) sleep(1000);
    return 0;
}


/* ----- functions the breakpoint, register and memory tests use (found by symbol) ----- */

/* Called in loops; the tests set breakpoints on it. */
__attribute__((noinline)) void target_fn(long i) {
    static volatile long sink;
    sink += i;
}

/* Called by hand by a test (rdi, rsi -> rax). */
__attribute__((noinline)) long add_numbers(long a, long b) {
    return a + b;
}

/* A landing pad for hand-made calls to return to; never called by the program. */
__attribute__((noinline)) void landing(void) {
    __asm__ volatile("nop");
}

/* Returns 1; a test patches its code so that it returns 0. */
__attribute__((noinline)) int check_poke(void) {
    return 1;
}

/* Memory the tests read: filled with i*7 mod 251 at start. */
unsigned char pattern[1 << 20];

static void fill_pattern(void) {
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (unsigned char)(i * 7 % 251);
}

/* bp_loop N: calls target_fn N times; exits 0. */
static int mode_bp_loop(long n) {
    for (long i = 0; i < n; i++) target_fn(i);
    return 0;
}

static long per_thread_calls;
static void *bp_worker(void *arg) {
    (void)arg;
    for (long i = 0; i < per_thread_calls; i++) target_fn(i);
    return NULL;
}

/* bp_threads T N: T threads each call target_fn N times; exits 0. */
static int mode_bp_threads(int t, long n) {
    pthread_t ts[64];
    per_thread_calls = n;
    if (t > 64) t = 64;
    for (int i = 0; i < t; i++)
        if (pthread_create(&ts[i], NULL, bp_worker, NULL) != 0) return 2;
    for (int i = 0; i < t; i++) pthread_join(ts[i], NULL);
    return 0;
}

/* bp_fork: calls target_fn, forks a child that calls it too and exits 0, and a vfork child
 * that calls it and _exits 0; exits 0 only if both children exited 0 (an int3 of the tracer
 * left in a child would kill it with SIGTRAP). */
static int mode_bp_fork(void) {
    target_fn(1);
    pid_t a = fork();
    if (a == 0) {
        target_fn(2);
        _exit(0);
    }
    int sa = 0;
    if (waitpid(a, &sa, 0) != a) return 4;
    pid_t b = vfork();
    if (b == 0) {
        target_fn(3);
        _exit(0);
    }
    int sb = 0;
    if (waitpid(b, &sb, 0) != b) return 4;
    target_fn(4);
    say("fork child status %d vfork child status %d", sa, sb);
    return (WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0) ? 0 : 3;
}

/* own_int3: the program executes its own int3 with a SIGTRAP handler; exits 0 if it ran. */
static int mode_own_int3(void) {
    signal(SIGTRAP, on_trap);
    __asm__ volatile("int3");
    target_fn(0);
    return trap_count == 1 ? 0 : 3;
}

/* poke: exits with check_poke()'s result (1 unless a tracer patched it). */
static int mode_poke(void) {
    fill_pattern();
    target_fn(0);
    return check_poke();
}

/* pattern: fills `pattern`, calls target_fn (the test stops there), exits 0. */
static int mode_pattern(void) {
    fill_pattern();
    target_fn(0);
    return 0;
}


/* Every instruction form the library executes in place of a single step (src/sys/x86.rs), in
 * a function of its own; the emulation test compares breakpoint-driven runs of it with real
 * single steps, instruction by instruction. emu_block(a, b) returns a + b - 1. */
long emu_data = 0x1122334455667788;
long emu_block(long a, long b);
__asm__(".text\n"
        ".globl emu_block\n"
        ".type emu_block, @function\n"
        "emu_block:\n"
        "  endbr64\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  push %rbx\n"
        "  push %r12\n"
        "  push %r15\n"
        "  sub $0x28, %rsp\n"
        "  sub $0x1000, %rsp\n"
        "  add $0x1000, %rsp\n"
        "  nop\n"
        "  nopl 0x0(%rax)\n"
        "  nopw 0x0(%rax,%rax,1)\n"
        "  xchg %ax, %ax\n"
        "  mov %rdi, %rbx\n"
        "  mov %rsi, %r12\n"
        "  mov %r12, %rax\n"
        "  mov emu_data(%rip), %rcx\n"
        "  mov emu_data(%rip), %r15\n"
        "  sub $1, %rbx\n"
        "  add $-1, %r12\n"
        "  sub $-128, %rbx\n"
        "  add $0x7fffffff, %rcx\n"
        "  mov %rdi, %rax\n"
        "  add %rsi, %rax\n"
        "  sub $1, %rax\n"
        "  add $0x28, %rsp\n"
        "  pop %r15\n"
        "  pop %r12\n"
        "  pop %rbx\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size emu_block, .-emu_block\n");

/* emu: calls emu_block with arguments that drive the flags through zero, carry and sign. */
static int mode_emu(void) {
    long r = emu_block(1, 0) + emu_block(0, 5) + emu_block(-3, 2) + emu_block(0x7fffffffffffffff, 1);
    say("emu %ld", r);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tracee MODE [ARGS]\n");
        return 64;
    }
    const char *m = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(m, "exit")) return n;
    if (!strcmp(m, "threads")) return mode_threads(n);
    if (!strcmp(m, "spin")) return mode_spin(n);
    if (!strcmp(m, "churn")) return mode_churn(n ? n : 2);
    if (!strcmp(m, "pthread_exit_main")) return mode_pthread_exit_main();
    if (!strcmp(m, "sigusr1")) return mode_sigusr1();
    if (!strcmp(m, "sigtrap")) return mode_sigtrap();
    if (!strcmp(m, "exec_from_thread")) return mode_exec_from_thread(argv + 2);
    if (!strcmp(m, "forks")) return mode_forks();
    if (!strcmp(m, "clone_exit")) return mode_clone_exit();
    if (!strcmp(m, "env")) return mode_env(argc > 2 ? argv[2] : "HOME");
    if (!strcmp(m, "cwd")) return mode_cwd();
    if (!strcmp(m, "fds")) return mode_fds();
    if (!strcmp(m, "stack_addr")) return mode_stack_addr();
    if (!strcmp(m, "echo")) return mode_echo();
    if (!strcmp(m, "sleeper")) return mode_sleeper();
    if (!strcmp(m, "bp_loop")) return mode_bp_loop(n);
    if (!strcmp(m, "bp_threads")) return mode_bp_threads(n, argc > 3 ? atol(argv[3]) : 1);
    if (!strcmp(m, "bp_fork")) return mode_bp_fork();
    if (!strcmp(m, "own_int3")) return mode_own_int3();
    if (!strcmp(m, "poke")) return mode_poke();
    if (!strcmp(m, "pattern")) return mode_pattern();
    if (!strcmp(m, "emu")) return mode_emu();
    if (!strcmp(m, "exit_later")) {
        exit_after_seconds = n;
        pthread_t t;
        pthread_create(&t, NULL, exit_later, NULL);
        for (;;) pause();
    }
    fprintf(stderr, "tracee: unknown mode %s\n", m);
    return 64;
}
