/* make demo: launch a multi-threaded program under ptrace_dbg, break on one of its functions,
 * and print every stop the way a debugger would see it.
 *
 *   usage: demo PROGRAM [FUNCTION]      (FUNCTION defaults to "compute")
 *
 * What it shows, in order: launch (the program stops at its first instruction), finding a
 * function's address by name (ptrace_dbg_symbol_address: the library reads the ELF symbol
 * tables and knows where each object is loaded, PIE or not), a breakpoint, then
 * continue / wait_stop until the program exits: thread creation, breakpoint hits with
 * registers and stack words, one single-step session, thread exits, and the exit status.
 * The program's stdout comes through a pipe and is printed with a "[sample]" prefix. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ptrace_dbg.h>

#define WAIT_MS 10000  /* longest wait for one stop */
#define STEPS_SHOWN 3  /* instructions single-stepped at the first hit */
#define STACK_WORDS 3  /* stack words shown at each hit */
#define MAX_THREADS 64 /* the sample has 4 */

static ptrace_dbg_process *proc;
static int32_t pid;
static int sample_out = -1; /* read end of the program's stdout */
static uint64_t current_rsp; /* of the thread being shown: tells its stack from others */
static const char *program_name; /* the program's file name: its symbols need no "in FILE" */

/* Every failing call ends the demo here: what failed, the code's text and the detail. */
static void fail(const char *what, int rc) {
    fflush(stdout);
    /* what is the call's source text; its function name is enough */
    fprintf(stderr, "demo: %.*s failed: %s", (int)strcspn(what, "("), what,
            ptrace_dbg_strerror(rc));
    const char *detail = ptrace_dbg_last_error();
    if (detail[0]) {
        fprintf(stderr, " (%s)", detail);
    }
    fprintf(stderr, "\n");
    ptrace_dbg_process_free(proc);
    exit(1);
}

#define CHECK(call)                                                                               \
    do {                                                                                          \
        int rc_ = (call);                                                                         \
        if (rc_ != PTRACE_DBG_OK) {                                                               \
            fail(#call, rc_);                                                                     \
        }                                                                                         \
    } while (0)

static void die(const char *fmt, const char *arg) {
    fflush(stdout);
    fprintf(stderr, "demo: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    ptrace_dbg_process_free(proc);
    exit(1);
}

/* ---- thread names: "main" for the first thread, then t1, t2, ... in order of creation ---- */

static struct {
    int32_t tid;
    char name[16];
} names[MAX_THREADS];
static int named;

static const char *thread_name(int32_t tid) {
    for (int i = 0; i < named; i++) {
        if (names[i].tid == tid) {
            return names[i].name;
        }
    }
    if (named == MAX_THREADS) {
        return "?";
    }
    names[named].tid = tid;
    if (tid == pid) {
        snprintf(names[named].name, sizeof names[named].name, "main");
    } else {
        snprintf(names[named].name, sizeof names[named].name, "t%d", named);
    }
    return names[named++].name;
}

/* "12345 t1" */
static const char *thread_label(int32_t tid) {
    static char buf[32];
    snprintf(buf, sizeof buf, "%" PRId32 " %s", tid, thread_name(tid));
    return buf;
}

/* ---- addresses in words: "compute+0x4", "in libc.so.6", "on the stack" ---- */

static const char *describe(uint64_t addr) {
    static char buf[256];
    char name[128], path[4096];
    uint64_t off;
    /* A symbol of the program or of a library: "compute+0x4", "write+0x10 in libc.so.6". */
    if (ptrace_dbg_address_symbol(proc, addr, name, sizeof name, &off, path, sizeof path) ==
        PTRACE_DBG_OK) {
        const char *slash = strrchr(path, '/');
        const char *file = slash ? slash + 1 : path;
        int len = off ? snprintf(buf, sizeof buf, "%s+0x%" PRIx64, name, off)
                      : snprintf(buf, sizeof buf, "%s", name);
        if (strcmp(file, program_name) != 0 && len > 0 && (size_t)len < sizeof buf) {
            snprintf(buf + len, sizeof buf - (size_t)len, " in %.100s", file);
        }
        return buf;
    }
    /* In no symbol: name the mapping it falls in, if any. */
    ptrace_dbg_mapping maps[512];
    size_t count = 0;
    buf[0] = '\0';
    if (ptrace_dbg_maps(proc, maps, 512, &count) != PTRACE_DBG_OK) {
        return buf;
    }
    for (size_t i = 0; i < count; i++) {
        if (addr < maps[i].start || addr >= maps[i].end) {
            continue;
        }
        if (ptrace_dbg_mapping_path(proc, i, path, sizeof path, NULL) != PTRACE_DBG_OK) {
            path[0] = '\0';
        }
        const char *slash = strrchr(path, '/');
        if (current_rsp >= maps[i].start && current_rsp < maps[i].end) {
            snprintf(buf, sizeof buf, "points into this thread's stack");
        } else if (strcmp(path, "[stack]") == 0) {
            snprintf(buf, sizeof buf, "points into the main thread's stack");
        } else if (path[0] == '\0') {
            snprintf(buf, sizeof buf, "points into anonymous memory");
        } else {
            snprintf(buf, sizeof buf, "in %.200s", slash ? slash + 1 : path);
        }
        break;
    }
    return buf;
}

/* ---- the program's stdout, through a pipe ---- */

/* Prints every complete line the program wrote so far; at_end also prints a last partial one. */
static void drain_sample_output(int at_end) {
    static char pending[4096];
    static size_t have;
    for (;;) {
        ssize_t n = read(sample_out, pending + have, sizeof pending - 1 - have);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        char *line = pending, *nl;
        while ((nl = memchr(line, '\n', have - (size_t)(line - pending)))) {
            printf("         [sample] %.*s\n", (int)(nl - line), line);
            line = nl + 1;
        }
        have -= (size_t)(line - pending);
        memmove(pending, line, have);
        if (have == sizeof pending - 1) { /* a very long line: print it as it is */
            at_end = 1;
            break;
        }
    }
    if (at_end && have) {
        printf("         [sample] %.*s\n", (int)have, pending);
        have = 0;
    }
}

/* ---- what is printed at a stop ---- */

static void print_threads(void) {
    int32_t tids[MAX_THREADS];
    size_t count = 0;
    CHECK(ptrace_dbg_threads(proc, tids, MAX_THREADS, &count));
    printf("         threads now:");
    for (size_t i = 0; i < count; i++) {
        printf("%s %s", i ? "," : "", thread_label(tids[i]));
    }
    printf("\n");
}

/* Any register by name: the widest view of vector register 0 the CPU has (ymm0 with AVX),
 * printed as 64-bit lanes, highest first, as gdb's v4_int64 would. */
static void print_vector_register(int32_t tid) {
    const char *names[] = {"ymm0", "xmm0"};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        uint64_t lanes[8];
        size_t size = 0;
        int rc = ptrace_dbg_read_register(proc, tid, names[n], lanes, sizeof lanes, &size);
        if (rc == PTRACE_DBG_E_NOT_SUPPORTED) continue; /* no AVX: try the next */
        CHECK(rc);
        printf("         vector     %s = {", names[n]);
        for (size_t i = size / 8; i-- > 0;) printf("%#" PRIx64 "%s", lanes[i], i ? ", " : "");
        printf("}  (%zu bytes, read by name)\n", size);
        return;
    }
}

static void print_regs_and_stack(int32_t tid, const char *function) {
    ptrace_dbg_regs r;
    CHECK(ptrace_dbg_get_regs(proc, tid, &r));
    current_rsp = r.rsp;
    /* x86-64 System V: the first two integer arguments arrive in rdi and rsi. */
    printf("         registers  rip %#" PRIx64 " (%s)   rsp %#" PRIx64 "\n", r.rip,
           describe(r.rip), r.rsp);
    if (strcmp(function, "compute") == 0) { /* the sample's compute(int worker, int step) */
        printf("         arguments  worker = %" PRId32 " (rdi)   step = %" PRId32 " (rsi)\n",
               (int32_t)r.rdi, (int32_t)r.rsi);
    } else {
        printf("         arguments  rdi %#" PRIx64 "   rsi %#" PRIx64 " (the first two)\n", r.rdi,
               r.rsi);
    }
    print_vector_register(tid);
    uint64_t words[STACK_WORDS];
    CHECK(ptrace_dbg_peek(proc, tid, r.rsp, words, sizeof words, NULL));
    for (int i = 0; i < STACK_WORDS; i++) {
        char where[16];
        snprintf(where, sizeof where, i ? "[rsp+%d]" : "[rsp]", 8 * i);
        const char *what = describe(words[i]);
        printf("         %-10s %-9s %#14" PRIx64 "%s%s%s\n", i ? "" : "stack", where, words[i],
               what[0] ? "  " : "", what[0] && i == 0 ? "return address, in " : "", what);
    }
}

static void single_step(int32_t tid) {
    printf("         single-step %d instructions of thread %s; the others stay stopped:\n",
           STEPS_SHOWN, thread_label(tid));
    for (int i = 1; i <= STEPS_SHOWN; i++) {
        uint64_t pc;
        CHECK(ptrace_dbg_step(proc, tid));
        CHECK(ptrace_dbg_get_pc(proc, tid, &pc));
        printf("         %-10s step %d    rip %#" PRIx64 " (%s)\n", "", i, pc, describe(pc));
    }
}

static int hits;

/* One thread's reason to be stopped, if it is more than "stopped because the others were". */
static int print_cause(int32_t tid, int trigger, uint64_t breakpoint, const char *function) {
    ptrace_dbg_cause c;
    CHECK(ptrace_dbg_stop_cause(proc, tid, &c));
    char why[128];
    switch (c.kind) {
    case PTRACE_DBG_CAUSE_STOPPED:
        if (!trigger) {
            return 0;
        }
        snprintf(why, sizeof why, "stopped");
        break;
    case PTRACE_DBG_CAUSE_BREAKPOINT:
        if (c.pc == breakpoint) {
            snprintf(why, sizeof why, "hit the breakpoint at %s", function);
        } else {
            snprintf(why, sizeof why, "hit a breakpoint at %#" PRIx64, c.pc);
        }
        break;
    case PTRACE_DBG_CAUSE_SIGNAL:
        snprintf(why, sizeof why, "got signal %s (delivered when we continue)",
                 ptrace_dbg_signal_name(c.signal));
        break;
    case PTRACE_DBG_CAUSE_THREAD_CREATE:
        snprintf(why, sizeof why, "created a new thread, %" PRId32 " ", c.new_tid);
        strncat(why, thread_name(c.new_tid), sizeof why - strlen(why) - 1);
        break;
    case PTRACE_DBG_CAUSE_THREAD_EXIT:
        if (c.signal) {
            snprintf(why, sizeof why, "is exiting, killed by %s", ptrace_dbg_signal_name(c.signal));
        } else {
            snprintf(why, sizeof why, "is exiting with status %" PRId32, c.exit_status);
        }
        break;
    case PTRACE_DBG_CAUSE_EXEC:
        snprintf(why, sizeof why, "executed a new program");
        break;
    default:
        snprintf(why, sizeof why, "stopped (cause %" PRId32 ")", c.kind);
        break;
    }
    if (!trigger) {
        printf("  also:  ");
    }
    printf("thread %-10s %s\n", thread_label(tid), why);
    if (c.kind == PTRACE_DBG_CAUSE_BREAKPOINT) {
        print_regs_and_stack(tid, function);
        if (hits++ == 0) {
            single_step(tid);
        }
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PROGRAM [FUNCTION]\n", argv[0]);
        return 2;
    }
    const char *program = argv[1];
    const char *function = argc == 3 ? argv[2] : "compute";
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ptrace_dbg demo (library %s)\n\n", ptrace_dbg_version());

    const char *slash = strrchr(program, '/');
    program_name = slash ? slash + 1 : program;

    /* The program's stdout goes into a pipe that we read at every stop. O_CLOEXEC keeps our
     * read end out of the program; the library makes the write end its fd 1. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        die("pipe2: %s", strerror(errno));
    }
    sample_out = fds[0];
    fcntl(sample_out, F_SETFL, O_NONBLOCK);
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    opts.stdout_fd = fds[1];
    const char *const args[] = {program, NULL};
    printf("launch   %s\n", program);
    CHECK(ptrace_dbg_launch(program, args, NULL, &opts, &proc));
    close(fds[1]);
    CHECK(ptrace_dbg_pid(proc, &pid));
    thread_name(pid);
    uint64_t pc;
    CHECK(ptrace_dbg_get_pc(proc, pid, &pc));
    printf("         pid %d, stopped at its first instruction (%s)\n", (int)pid, describe(pc));

    /* The library reads the program's symbol table and knows where it is loaded (PIE). */
    uint64_t addr;
    int rc = ptrace_dbg_symbol_address(proc, NULL, function, &addr);
    if (rc == PTRACE_DBG_E_NOT_FOUND) {
        die("no function named %s in the program", function);
    }
    CHECK(rc);
    printf("symbol   ptrace_dbg_symbol_address(\"%s\") = %#" PRIx64 "\n", function, addr);
    CHECK(ptrace_dbg_add_breakpoint(proc, addr));
    printf("break    breakpoint set at %s\n\n", function);
    printf("Running. At each stop every thread is stopped; below: which thread stopped, why,\n"
           "and the threads alive at that moment.\n\n");

    for (int stop = 1;; stop++) {
        CHECK(ptrace_dbg_continue(proc));
        int32_t trigger = 0;
        int rc = ptrace_dbg_wait_stop(proc, WAIT_MS, &trigger);
        drain_sample_output(0);
        if (rc == PTRACE_DBG_E_EXITED) {
            break;
        }
        if (rc != PTRACE_DBG_OK) {
            fail("ptrace_dbg_wait_stop(proc, WAIT_MS, &trigger)", rc);
        }
        printf("stop %-3d ", stop);
        print_cause(trigger, 1, addr, function);
        /* Other threads may have stopped for a reason of their own at the same time. */
        int32_t tids[MAX_THREADS];
        size_t count = 0;
        CHECK(ptrace_dbg_threads(proc, tids, MAX_THREADS, &count));
        for (size_t i = 0; i < count; i++) {
            if (tids[i] != trigger) {
                print_cause(tids[i], 0, addr, function);
            }
        }
        print_threads();
        printf("\n");
    }

    drain_sample_output(1);
    int32_t code = 0, sig = 0;
    CHECK(ptrace_dbg_exit_status(proc, &code, &sig));
    if (sig) {
        printf("The program was killed by %s.\n", ptrace_dbg_signal_name(sig));
    } else {
        printf("The program exited with status %" PRId32 ".\n", code);
    }
    printf("The breakpoint at %s was hit %d times.\n", function, hits);
    ptrace_dbg_process_free(proc);
    close(sample_out);
    return sig ? 1 : code;
}
