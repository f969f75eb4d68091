/* System-call tracee: one mode per argv[1]. Calls are made with syscall(2) so that libc
 * caches or wrappers do not hide or add any. Everything it reports goes to stdout, one line at
 * a time, flushed; a failed check exits with a status other than 0.
 * Built with -O1 -g -pthread. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* count N: 4 threads, each (after a barrier) makes N getppid, N write(devnull, buf, 1 + i)
 * (i: the thread's index 0..3) and N getuid. The threads' writes differ in length, so a
 * tracer can tell them apart by argument and result. */
static int count_n;
static int devnull;
static pthread_barrier_t barrier;
static void *count_thread(void *arg) {
    long i = (long)arg;
    static const char buf[8] = "abcdefg";
    pthread_barrier_wait(&barrier);
    for (int k = 0; k < count_n; k++) {
        syscall(SYS_getppid);
        if (syscall(SYS_write, devnull, buf, (size_t)(1 + i)) != 1 + i) exit(3);
        syscall(SYS_getuid);
    }
    return NULL;
}
static int mode_count(int n) {
    count_n = n;
    devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0) return 2;
    pthread_barrier_init(&barrier, NULL, 4);
    pthread_t t[3];
    for (long i = 1; i < 4; i++)
        if (pthread_create(&t[i - 1], NULL, count_thread, (void *)i) != 0) return 2;
    count_thread((void *)0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    return 0;
}

/* change VICTIM OPENED: unlinkat(VICTIM), openat(OPENED) and read it, getpid; prints what each
 * returned, and whether VICTIM still exists, for the tracer (which changes the calls) to check. */
static int mode_change(const char *victim, const char *opened) {
    long r = syscall(SYS_unlinkat, AT_FDCWD, victim, 0);
    int err = r < 0 ? errno : 0;
    struct stat st;
    say("unlinkat=%ld errno=%d exists=%d", r, err, stat(victim, &st) == 0);
    long fd = syscall(SYS_openat, AT_FDCWD, opened, O_RDONLY);
    char buf[64] = {0};
    if (fd >= 0 && read((int)fd, buf, sizeof buf - 1) < 0) return 2;
    say("openat=%s content=%s", fd >= 0 ? "ok" : "failed", buf);
    say("getpid=%ld real=%ld", syscall(SYS_getpid), (long)syscall(SYS_gettid));
    return 0;
}

/* reexec N: one getppid, then exec itself with N-1 until 0. */
static int mode_reexec(const char *self, int n) {
    syscall(SYS_getppid);
    if (n == 0) return 0;
    char arg[16];
    snprintf(arg, sizeof arg, "%d", n - 1);
    execl("/proc/self/exe", self, "reexec", arg, (char *)NULL);
    return 2;
}

/* thread-exec: a second thread execs "reexec 0" while the main thread blocks. */
static const char *self_path;
static void *exec_thread(void *arg) {
    (void)arg;
    execl("/proc/self/exe", self_path, "reexec", "0", (char *)NULL);
    exit(2);
}
static int mode_thread_exec(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, exec_thread, NULL) != 0) return 2;
    for (;;) pause();
}

/* bp-syscall N: executes the `syscall` instruction at global label `syscall_site` N times,
 * each a getppid. */
extern char syscall_site[];
static long do_getppid(void) {
    long r;
    __asm__ volatile(".globl syscall_site\nsyscall_site:\n\tsyscall"
                     : "=a"(r)
                     : "a"((long)SYS_getppid)
                     : "rcx", "r11", "memory");
    return r;
}
static int mode_bp_syscall(int n) {
    for (int i = 0; i < n; i++)
        if (do_getppid() <= 0) return 3;
    return 0;
}

/* threads-life N: N times, create a thread that makes one getppid and exits; join it. */
static void *life_thread(void *arg) {
    (void)arg;
    syscall(SYS_getppid);
    return NULL;
}
static int mode_threads_life(int n) {
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, life_thread, NULL) != 0) return 2;
        pthread_join(t, NULL);
    }
    return 0;
}

/* block: prints ready, then blocks in read(2) on a pipe nobody writes until SIGUSR1 (whose
 * SA_RESTART handler writes a byte): the read is restarted and returns 1. */
static int pipefd[2];
static void on_usr1(int sig) {
    (void)sig;
    if (write(pipefd[1], "x", 1) != 1) _exit(4);
}
static int mode_block(void) {
    if (pipe(pipefd) != 0) return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    say("ready");
    char c;
    long r = syscall(SYS_read, pipefd[0], &c, 1);
    say("read=%ld", r);
    return r == 1 ? 0 : 3;
}

/* fork: a child makes a write to /dev/null and exits 0 if it succeeded; the parent reports
 * the child's status and writes too. */
static int mode_fork(void) {
    int fd = open("/dev/null", O_WRONLY);
    pid_t c = fork();
    if (c == 0) _exit(syscall(SYS_write, fd, "c", 1) == 1 ? 0 : 7);
    int st = 0;
    waitpid(c, &st, 0);
    long w = syscall(SYS_write, fd, "p", 1);
    say("child=%d parent=%ld", WIFEXITED(st) ? WEXITSTATUS(st) : -1, w);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && w == 1 ? 0 : 3;
}

/* bench G W: G getpid and W one-byte writes to /dev/null. */
static int mode_bench(long g, long w) {
    int fd = open("/dev/null", O_WRONLY);
    for (long i = 0; i < g; i++) syscall(SYS_getpid);
    for (long i = 0; i < w; i++)
        if (syscall(SYS_write, fd, "x", 1) != 1) return 3;
    return 0;
}

int main(int argc, char **argv) {
    self_path = argv[0];
    if (argc < 2) return 1;
    const char *m = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(m, "count")) return mode_count(n);
    if (!strcmp(m, "change") && argc > 3) return mode_change(argv[2], argv[3]);
    if (!strcmp(m, "reexec")) return mode_reexec(argv[0], n);
    if (!strcmp(m, "thread-exec")) return mode_thread_exec();
    if (!strcmp(m, "bp-syscall")) return mode_bp_syscall(n);
    if (!strcmp(m, "threads-life")) return mode_threads_life(n);
    if (!strcmp(m, "block")) return mode_block();
    if (!strcmp(m, "fork")) return mode_fork();
    if (!strcmp(m, "bench") && argc > 3) return mode_bench(atol(argv[2]), atol(argv[3]));
    return 1;
}
