/* Registers beyond ptrace_dbg_regs (issue 13): x87, SSE, AVX, AVX-512 by name, by struct and
 * in the raw XSAVE area, written and seen by the program, saved and restored, per thread.
 *
 * The tracee (c-tests/tracees/xregs.c) loads patterns (c-tests/xregs_pattern.h) into every
 * register its CPU has, stops at `xregs_checkpoint`, stores the registers and exits 0 only if
 * they hold what it expects. What the CPU lacks (per /proc/cpuinfo) is skipped with a line
 * saying so. */
#define _GNU_SOURCE
#include "ptrace_dbg.h"
#include "runner.h"
#include "tracee_util.h"
#include "xregs_pattern.h"

#include <cpuid.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 20000

/* build/tracees/xregs, next to the main tracee. */
static const char *xregs_path(void) {
    static char path[PATH_MAX];
    const char *main = tracee_path();
    size_t dir = (size_t)(strrchr(main, '/') - main);
    snprintf(path, sizeof path, "%.*s/xregs", (int)dir, main);
    return path;
}

/* Whether /proc/cpuinfo lists `flag` for the first CPU. */
static int cpu_has(const char *flag) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        for (char *tok = strtok(strchr(line, ':') + 1, " \n"); tok; tok = strtok(NULL, " \n"))
            if (strcmp(tok, flag) == 0) found = 1;
        break;
    }
    fclose(f);
    return found;
}

/* The features the register tests use, from /proc/cpuinfo; says once what is skipped. */
static unsigned cpu_features(void) {
    unsigned f = 0;
    if (cpu_has("avx")) f |= XREGS_AVX;
    if (cpu_has("avx512f")) f |= XREGS_AVX512;
    if ((f & XREGS_AVX512) && cpu_has("avx512bw")) f |= XREGS_AVX512BW;
    static int said;
    if (!said++) {
        if (!(f & XREGS_AVX)) printf("xregs: skipping ymm: /proc/cpuinfo lists no avx\n");
        if (!(f & XREGS_AVX512)) printf("xregs: skipping zmm16-31, k0-7: no avx512f\n");
        else if (!(f & XREGS_AVX512BW)) printf("xregs: skipping k0-7: no avx512bw\n");
    }
    return f;
}

/* Launches build/tracees/xregs with `args`, reads its "features" line (which must agree with
 * /proc/cpuinfo) and sets a breakpoint on `xregs_checkpoint` (and on `xregs_restore_point`
 * when `restore` is set). */
static ptrace_dbg_process *launch_xregs(const char *const *args, int restore, int *out_fd) {
    const char *argv[8] = {xregs_path()};
    size_t n = 1;
    while (args[n - 1] && n < 7) argv[n] = args[n - 1], n++;
    argv[n] = NULL;
    int fds[2];
    CHECK(pipe2(fds, O_CLOEXEC) == 0);
    ptrace_dbg_launch_options opts;
    ptrace_dbg_launch_options_init(&opts);
    opts.stdout_fd = fds[1];
    ptrace_dbg_process *p = NULL;
    CHECK_OK(ptrace_dbg_launch(argv[0], argv, NULL, &opts, &p));
    close(fds[1]);
    *out_fd = fds[0];
    pid_t pid = pid_of(p);
    uint64_t checkpoint = symbol_address(pid, argv[0], "xregs_checkpoint");
    uint64_t restore_point = symbol_address(pid, argv[0], "xregs_restore_point");
    CHECK(checkpoint != 0 && restore_point != 0);
    CHECK_OK(ptrace_dbg_add_breakpoint(p, checkpoint));
    if (restore) CHECK_OK(ptrace_dbg_add_breakpoint(p, restore_point));
    return p;
}

/* Continues to the next stop, which must be thread `*tid`'s (any when 0) breakpoint at `pc`. */
static int32_t run_to(ptrace_dbg_process *p, uint64_t pc) {
    int32_t trigger = 0;
    CHECK_OK(continue_and_wait(p, WAIT_MS, &trigger));
    ptrace_dbg_cause cause;
    CHECK_OK(ptrace_dbg_stop_cause(p, trigger, &cause));
    CHECK_EQ_INT(cause.kind, PTRACE_DBG_CAUSE_BREAKPOINT);
    CHECK_EQ_INT(cause.pc, pc);
    return trigger;
}

/* The tracee's first line, which must match /proc/cpuinfo. */
static unsigned tracee_features(int fd) {
    char line[64];
    CHECK(read_line(fd, line, sizeof line, WAIT_MS));
    unsigned f = 0;
    CHECK(sscanf(line, "features %u", &f) == 1);
    CHECK_EQ_INT(f, cpu_features());
    return f;
}

/* Continues to the end; the tracee's exit code says whether its registers matched. */
static void expect_exit_ok(ptrace_dbg_process *p) {
    int rc, stops = 0;
    /* Past the threads' exit stops. */
    while ((rc = continue_and_wait(p, WAIT_MS, NULL)) == PTRACE_DBG_OK) CHECK(++stops < 100);
    CHECK_EQ_INT(rc, PTRACE_DBG_E_EXITED);
    int32_t code = -1, sig = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &sig));
    CHECK_EQ_INT(sig, 0);
    CHECK_EQ_INT(code, 0); /* 1: some register did not hold what the test wrote */
}

static void read_reg(ptrace_dbg_process *p, int32_t tid, const char *name, void *buf,
                     size_t want) {
    size_t size = 0;
    CHECK_OK(ptrace_dbg_read_register(p, tid, name, buf, 64, &size));
    if (size != want) runner_fail(__FILE__, __LINE__, "%s has %zu bytes, not %zu", name, size, want);
}

/* Every register the features cover holds phase `phase` of `seed`, read by name. */
static void check_by_name(ptrace_dbg_process *p, int32_t tid, int phase, unsigned seed,
                          unsigned f) {
    struct xregs_image want;
    xregs_fill(&want, phase, seed);
    uint8_t got[64];
    char name[16];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "st%d", i);
        read_reg(p, tid, name, got, 10);
        if (memcmp(got, want.st[i], 10) != 0) runner_fail(__FILE__, __LINE__, "%s differs", name);
    }
    uint32_t mxcsr = 0;
    read_reg(p, tid, "mxcsr", &mxcsr, 4);
    CHECK_EQ_INT(mxcsr, want.mxcsr);
    int count, bytes;
    xregs_vectors(f, &count, &bytes);
    for (int i = 0; i < count; i++) {
        static const char *const kinds[] = {"xmm", "ymm", "zmm"};
        for (int k = 0; k < 3 && (16 << k) <= bytes; k++) {
            snprintf(name, sizeof name, "%s%d", kinds[k], i);
            read_reg(p, tid, name, got, (size_t)(16 << k));
            if (memcmp(got, want.vec[i], (size_t)(16 << k)) != 0)
                runner_fail(__FILE__, __LINE__, "%s differs (phase %d, seed %u)", name, phase,
                            seed);
        }
    }
    if (f & XREGS_AVX512BW)
        for (int i = 0; i < 8; i++) {
            snprintf(name, sizeof name, "k%d", i);
            read_reg(p, tid, name, got, 8);
            if (memcmp(got, want.k[i], 8) != 0) runner_fail(__FILE__, __LINE__, "%s differs", name);
        }
}

/* Writes phase `phase` of `seed` into every register the features cover: x87 and MXCSR through
 * the struct, the vectors and masks by name (the widest name the CPU has). */
static void write_all(ptrace_dbg_process *p, int32_t tid, int phase, unsigned seed, unsigned f) {
    struct xregs_image img;
    xregs_fill(&img, phase, seed);
    ptrace_dbg_fpregs fp;
    CHECK_OK(ptrace_dbg_get_fpregs(p, tid, &fp));
    for (int i = 0; i < 8; i++) memcpy((uint8_t *)fp.st_space + 16 * i, img.st[i], 10);
    fp.mxcsr = img.mxcsr;
    CHECK_OK(ptrace_dbg_set_fpregs(p, tid, &fp));
    int count, bytes;
    xregs_vectors(f, &count, &bytes);
    const char *kind = bytes == 64 ? "zmm" : bytes == 32 ? "ymm" : "xmm";
    char name[16];
    for (int i = 0; i < count; i++) {
        snprintf(name, sizeof name, "%s%d", kind, i);
        CHECK_OK(ptrace_dbg_write_register(p, tid, name, img.vec[i], (size_t)bytes));
    }
    if (f & XREGS_AVX512BW)
        for (int i = 0; i < 8; i++) {
            snprintf(name, sizeof name, "k%d", i);
            CHECK_OK(ptrace_dbg_write_register(p, tid, name, img.k[i], 8));
        }
}

/* The XSAVE area from the library, fetched with a size query first. */
static uint8_t *get_area(ptrace_dbg_process *p, int32_t tid, size_t *len) {
    *len = 0;
    CHECK_CODE(ptrace_dbg_get_xstate(p, tid, NULL, 0, len), PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK(*len >= 576);
    uint8_t *area = malloc(*len);
    CHECK(area != NULL);
    size_t again = 0;
    CHECK_OK(ptrace_dbg_get_xstate(p, tid, area, *len, &again));
    CHECK_EQ_INT(again, *len);
    return area;
}

/* The offset of XSAVE component `bit` per CPUID leaf 0xD (what gdb does). */
static size_t component_offset(unsigned bit) {
    unsigned a, b, c, d;
    CHECK(__get_cpuid_count(0xd, bit, &a, &b, &c, &d));
    return b;
}

/* The raw area holds the patterns where CPUID says each component is. */
static void check_raw(const uint8_t *area, size_t len, int phase, unsigned seed, unsigned f) {
    struct xregs_image want;
    xregs_fill(&want, phase, seed);
    unsigned a, b, c, d;
    CHECK(__get_cpuid_count(0xd, 0, &a, &b, &c, &d));
    CHECK_EQ_INT(len, b); /* the size for the enabled features, as the kernel reports */
    uint64_t bv;
    memcpy(&bv, area + 512, 8);
    CHECK((bv & 3) == 3); /* x87 and SSE in use */
    for (int i = 0; i < 8; i++) CHECK(memcmp(area + 32 + 16 * i, want.st[i], 10) == 0);
    CHECK(memcmp(area + 24, &want.mxcsr, 4) == 0);
    for (int i = 0; i < 16; i++) CHECK(memcmp(area + 160 + 16 * i, want.vec[i], 16) == 0);
    if (f & XREGS_AVX) {
        CHECK(bv & 4);
        size_t avx = component_offset(2);
        for (int i = 0; i < 16; i++) CHECK(memcmp(area + avx + 16 * i, want.vec[i] + 16, 16) == 0);
    }
    if (f & XREGS_AVX512) {
        CHECK((bv & 0xc0) == 0xc0);
        size_t zmmh = component_offset(6), hi16 = component_offset(7);
        for (int i = 0; i < 16; i++)
            CHECK(memcmp(area + zmmh + 32 * i, want.vec[i] + 32, 32) == 0);
        for (int i = 16; i < 32; i++)
            CHECK(memcmp(area + hi16 + 64 * (i - 16), want.vec[i], 64) == 0);
    }
    if (f & XREGS_AVX512BW) {
        CHECK(bv & 0x20);
        size_t k = component_offset(5);
        for (int i = 0; i < 8; i++) CHECK(memcmp(area + k + 8 * i, want.k[i], 8) == 0);
    }
}

TEST(xregs_registers_read_by_name_struct_and_raw_and_writes_reach_the_program) {
    int fd;
    ptrace_dbg_process *p = launch_xregs((const char *const[]){"1", NULL}, 0, &fd);
    pid_t pid = pid_of(p);
    uint64_t checkpoint = symbol_address(pid, xregs_path(), "xregs_checkpoint");
    int32_t tid = run_to(p, checkpoint);
    unsigned f = tracee_features(fd);

    /* The catalogue lists what /proc/cpuinfo says the CPU has. */
    size_t count = ptrace_dbg_register_count(p);
    int saw_zmm31 = 0, saw_ymm0 = 0, saw_rip = 0, saw_dr7 = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = NULL;
        size_t size = 0;
        CHECK_OK(ptrace_dbg_register_info(p, i, &name, &size));
        saw_zmm31 |= strcmp(name, "zmm31") == 0 && size == 64;
        saw_ymm0 |= strcmp(name, "ymm0") == 0 && size == 32;
        saw_rip |= strcmp(name, "rip") == 0 && size == 8;
        saw_dr7 |= strcmp(name, "dr7") == 0;
        /* Every listed register reads, with the listed size. */
        uint8_t buf[64];
        size_t got = 0;
        CHECK_OK(ptrace_dbg_read_register(p, tid, name, buf, sizeof buf, &got));
        CHECK_EQ_INT(got, size);
    }
    CHECK(saw_rip && saw_dr7);
    CHECK_EQ_INT(saw_ymm0, (f & XREGS_AVX) != 0);
    CHECK_EQ_INT(saw_zmm31, (f & XREGS_AVX512) != 0);
    CHECK_CODE(ptrace_dbg_register_info(p, count, NULL, NULL), PTRACE_DBG_E_INVALID_ARGUMENT);

    /* rip by name is the struct's rip, the breakpoint. */
    uint64_t rip = 0;
    read_reg(p, tid, "rip", &rip, 8);
    CHECK_EQ_INT(rip, checkpoint);

    /* Phase 0 by name, by struct and in the raw area. */
    check_by_name(p, tid, 0, 0, f);
    struct xregs_image want;
    xregs_fill(&want, 0, 0);
    ptrace_dbg_fpregs fp;
    CHECK_OK(ptrace_dbg_get_fpregs(p, tid, &fp));
    for (int i = 0; i < 8; i++) CHECK(memcmp((uint8_t *)fp.st_space + 16 * i, want.st[i], 10) == 0);
    for (int i = 0; i < 16; i++)
        CHECK(memcmp((uint8_t *)fp.xmm_space + 16 * i, want.vec[i], 16) == 0);
    CHECK_EQ_INT(fp.mxcsr, want.mxcsr);
    CHECK_EQ_INT(fp.ftw & 0xff, 0xff); /* eight values loaded: no register empty */
    CHECK_EQ_INT(fp.cwd, 0x037f);      /* finit's control word */
    size_t len;
    uint8_t *area = get_area(p, tid, &len);
    check_raw(area, len, 0, 0, f);

    /* A general register by name: written, seen by get_regs, then put back. */
    uint64_t r12 = 0, r12_new = 0x1234567890abcdefULL, r12_seen = 0;
    read_reg(p, tid, "r12", &r12, 8);
    CHECK_OK(ptrace_dbg_write_register(p, tid, "r12", &r12_new, 8));
    CHECK_OK(ptrace_dbg_get_reg(p, tid, 3 /* r12 */, &r12_seen));
    CHECK_EQ_INT(r12_seen, r12_new);
    CHECK_OK(ptrace_dbg_write_register(p, tid, "r12", &r12, 8));

    /* Phase 1 written: read back at once (by name, struct, raw), then the program checks. */
    write_all(p, tid, 1, 0, f);
    check_by_name(p, tid, 1, 0, f);
    free(area);
    area = get_area(p, tid, &len);
    check_raw(area, len, 1, 0, f);
    free(area);
    expect_exit_ok(p);
    close(fd);
    ptrace_dbg_process_free(p);
}

TEST(xregs_state_saved_with_get_xstate_and_restored_with_set_xstate_is_what_the_program_sees) {
    int fd;
    ptrace_dbg_process *p = launch_xregs((const char *const[]){"0", "clobber", NULL}, 1, &fd);
    pid_t pid = pid_of(p);
    int32_t tid = run_to(p, symbol_address(pid, xregs_path(), "xregs_checkpoint"));
    unsigned f = tracee_features(fd);
    size_t len;
    uint8_t *saved = get_area(p, tid, &len);
    check_raw(saved, len, 0, 0, f);

    /* The program loads phase 1 over everything, then stops again. */
    CHECK_EQ_INT(run_to(p, symbol_address(pid, xregs_path(), "xregs_restore_point")), tid);
    check_by_name(p, tid, 1, 0, f);

    /* Only the kernel's exact size is taken. */
    CHECK_CODE(ptrace_dbg_set_xstate(p, tid, saved, len - 1), PTRACE_DBG_E_INVALID_ARGUMENT);
    uint8_t *longer = calloc(1, len + 4097);
    CHECK(longer != NULL);
    memcpy(longer, saved, len);
    CHECK_CODE(ptrace_dbg_set_xstate(p, tid, longer, len + 1), PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_set_xstate(p, tid, longer, 4096 == len ? 4097 : 4096),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    free(longer);
    /* A header the kernel refuses: xcomp_bv (compacted format) set. */
    uint8_t *bad = malloc(len);
    CHECK(bad != NULL);
    memcpy(bad, saved, len);
    bad[520 + 7] = 0x80;
    CHECK_CODE(ptrace_dbg_set_xstate(p, tid, bad, len), PTRACE_DBG_E_INVALID_ARGUMENT);
    free(bad);
    check_by_name(p, tid, 1, 0, f); /* nothing changed */

    CHECK_OK(ptrace_dbg_set_xstate(p, tid, saved, len));
    check_by_name(p, tid, 0, 0, f);
    free(saved);
    expect_exit_ok(p); /* the program found phase 0 again */
    close(fd);
    ptrace_dbg_process_free(p);
}

TEST(xregs_threads_have_their_own_registers_and_a_new_thread_reads_at_its_clone_stop) {
    int fd;
    ptrace_dbg_process *p = launch_xregs((const char *const[]){"1", "threads", "3", NULL}, 0, &fd);
    pid_t pid = pid_of(p);
    uint64_t checkpoint = symbol_address(pid, xregs_path(), "xregs_checkpoint");
    unsigned f = cpu_features();
    int32_t handled[3] = {0}, cloned[3] = {0};
    int done = 0, clones = 0, rc;
    long long deadline = now_ms() + WAIT_MS;
    while ((rc = continue_and_wait(p, WAIT_MS, NULL)) == PTRACE_DBG_OK) {
        CHECK(now_ms() < deadline);
        int32_t tids[8];
        size_t n = 0;
        CHECK_OK(ptrace_dbg_threads(p, tids, 8, &n));
        for (size_t i = 0; i < n; i++) {
            ptrace_dbg_cause cause;
            CHECK_OK(ptrace_dbg_stop_cause(p, tids[i], &cause));
            int new_clone = cause.kind == PTRACE_DBG_CAUSE_THREAD_CREATE;
            for (int j = 0; j < clones && new_clone; j++) new_clone = cloned[j] != cause.new_tid;
            if (new_clone) {
                CHECK(clones < 3);
                /* The new thread reads at once, all of it. */
                uint8_t buf[64];
                size_t size = 0, len = 0;
                CHECK_OK(ptrace_dbg_read_register(p, cause.new_tid, "xmm0", buf, 64, &size));
                CHECK_OK(ptrace_dbg_read_register(p, cause.new_tid, "rip", buf, 64, &size));
                uint8_t *area = get_area(p, cause.new_tid, &len);
                free(area);
                cloned[clones++] = cause.new_tid;
            }
            if (cause.kind != PTRACE_DBG_CAUSE_BREAKPOINT || cause.pc != checkpoint) continue;
            int seen = 0;
            for (int j = 0; j < done; j++) seen |= handled[j] == tids[i];
            if (seen) continue;
            CHECK(done < 3);
            handled[done++] = tids[i];
            uint64_t seed = 0;
            read_reg(p, tids[i], "r8", &seed, 8); /* the tracee passes its seed in r8 */
            CHECK(seed >= 1 && seed <= 3);
            check_by_name(p, tids[i], 0, (unsigned)seed, f);
            write_all(p, tids[i], 1, (unsigned)seed, f);
        }
    }
    CHECK_EQ_INT(rc, PTRACE_DBG_E_EXITED);
    CHECK_EQ_INT(done, 3);
    CHECK_EQ_INT(clones, 3);
    int32_t code = -1, sig = -1;
    CHECK_OK(ptrace_dbg_exit_status(p, &code, &sig));
    CHECK_EQ_INT(code, 0); /* every thread saw its own phase 1 */
    CHECK_EQ_INT(sig, 0);
    close(fd);
    ptrace_dbg_process_free(p);
}

TEST(xregs_bad_names_sizes_values_and_states_are_refused) {
    int fd;
    ptrace_dbg_process *p = launch_xregs((const char *const[]){"0", NULL}, 0, &fd);
    pid_t pid = pid_of(p);
    int32_t tid = run_to(p, symbol_address(pid, xregs_path(), "xregs_checkpoint"));
    unsigned f = tracee_features(fd);
    uint8_t buf[64] = {0};
    size_t size = 99;
    const char *unknown[] = {"", "XMM0", "xmm", "zmm32", "st8", "k8", "ymm0h", "rip ", "eax"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_CODE(ptrace_dbg_read_register(p, tid, unknown[i], buf, 64, &size),
                   PTRACE_DBG_E_INVALID_ARGUMENT);
        CHECK_CODE(ptrace_dbg_write_register(p, tid, unknown[i], buf, 16),
                   PTRACE_DBG_E_INVALID_ARGUMENT);
    }
    CHECK_EQ_INT(size, 99);
    /* dr4/dr5 do not exist in 64-bit mode; zmm without AVX-512 is not supported either. */
    CHECK_CODE(ptrace_dbg_read_register(p, tid, "dr4", buf, 64, &size),
               PTRACE_DBG_E_NOT_SUPPORTED);
    CHECK(strstr(ptrace_dbg_last_error(), "dr4") != NULL);
    CHECK_CODE(ptrace_dbg_read_register(p, tid, "zmm0", buf, 64, &size),
               (f & XREGS_AVX512) ? PTRACE_DBG_OK : PTRACE_DBG_E_NOT_SUPPORTED);
    /* Too small a buffer: the size needed, nothing copied. */
    memset(buf, 0xee, sizeof buf);
    CHECK_CODE(ptrace_dbg_read_register(p, tid, "xmm1", buf, 15, &size),
               PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(size, 16);
    CHECK_EQ_INT(buf[0], 0xee);
    CHECK_CODE(ptrace_dbg_read_register(p, tid, "st0", NULL, 0, &size),
               PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(size, 10);
    size_t len = 0;
    CHECK_CODE(ptrace_dbg_get_xstate(p, tid, buf, sizeof buf, &len), PTRACE_DBG_E_BUFFER_TOO_SMALL);
    CHECK(len > sizeof buf);
    /* Wrong sizes on write. */
    size_t sizes[] = {0, 8, 15, 17, 32, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        CHECK_CODE(ptrace_dbg_write_register(p, tid, "xmm2", buf, sizes[i]),
                   PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_write_register(p, tid, "xmm2", buf, SIZE_MAX),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_CODE(ptrace_dbg_set_xstate(p, tid, buf, SIZE_MAX), PTRACE_DBG_E_INVALID_ARGUMENT);
    /* MXCSR's reserved bits, refused at the write, not lost at the resume. */
    uint32_t mxcsr = 0xffffffffu;
    CHECK_CODE(ptrace_dbg_write_register(p, tid, "mxcsr", &mxcsr, 4),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    ptrace_dbg_fpregs fp;
    CHECK_OK(ptrace_dbg_get_fpregs(p, tid, &fp));
    fp.mxcsr = 0xffffffffu;
    CHECK_CODE(ptrace_dbg_set_fpregs(p, tid, &fp), PTRACE_DBG_E_INVALID_ARGUMENT);
    /* Debug registers: dr0 takes a user address and reads it back; a kernel address is
     * refused. */
    uint64_t addr = symbol_address(pid, xregs_path(), "xregs_run"), back = 0;
    CHECK_OK(ptrace_dbg_write_register(p, tid, "dr0", &addr, 8));
    read_reg(p, tid, "dr0", &back, 8);
    CHECK_EQ_INT(back, addr);
    uint64_t kernel = 0xffff800000000000ULL, zero = 0;
    CHECK_CODE(ptrace_dbg_write_register(p, tid, "dr1", &kernel, 8),
               PTRACE_DBG_E_INVALID_ARGUMENT);
    CHECK_OK(ptrace_dbg_write_register(p, tid, "dr0", &zero, 8));
    /* None of that changed the registers: the program still finds phase 0. */
    check_by_name(p, tid, 0, 0, f);
    /* (Running, exited and detached processes are hostile_input's.) */
    expect_exit_ok(p);
    close(fd);
    ptrace_dbg_process_free(p);
}

TEST(xregs_initial_state_reads_as_initial_values_and_a_write_sets_the_component_bit) {
    /* At the exec stop nothing has run: the kernel gives the thread a fresh FPU state. */
    int fd;
    ptrace_dbg_process *p = launch_xregs((const char *const[]){"0", NULL}, 0, &fd);
    pid_t pid = pid_of(p);
    unsigned f = cpu_features();
    size_t len;
    uint8_t *area = get_area(p, pid, &len);
    uint64_t bv;
    memcpy(&bv, area + 512, 8);
    uint16_t fcw;
    memcpy(&fcw, area, 2);
    CHECK_EQ_INT(fcw, 0x037f); /* FNINIT's control word, whether or not x87 is in use */
    ptrace_dbg_fpregs fp;
    CHECK_OK(ptrace_dbg_get_fpregs(p, pid, &fp));
    CHECK_EQ_INT(fp.cwd, 0x037f);
    CHECK_EQ_INT(fp.mxcsr & 0xffbf, 0x1f80);
    if (!(f & XREGS_AVX)) {
        printf("xregs: skipping the AVX init-state check: no avx\n");
    } else {
        size_t avx = component_offset(2);
        uint8_t zero[16] = {0}, upper[16];
        if (bv & 4) {
            printf("xregs: AVX already in use at exec; init-state bytes not checked\n");
        } else {
            for (int i = 0; i < 16; i++) CHECK(memcmp(area + avx + 16 * i, zero, 16) == 0);
        }
        /* Write ymm5: its upper half goes to the AVX component, whose bit is set. */
        uint8_t ymm5[32];
        for (int i = 0; i < 32; i++) ymm5[i] = (uint8_t)(0x50 + i);
        CHECK_OK(ptrace_dbg_write_register(p, pid, "ymm5", ymm5, 32));
        free(area);
        area = get_area(p, pid, &len);
        memcpy(&bv, area + 512, 8);
        CHECK((bv & 6) == 6);
        memcpy(upper, area + avx + 16 * 5, 16);
        CHECK(memcmp(upper, ymm5 + 16, 16) == 0);
        /* One single step later (the write went to the kernel before it), the kernel has it. */
        CHECK_OK(ptrace_dbg_step(p, pid));
        uint8_t back[64];
        read_reg(p, pid, "ymm5", back, 32);
        CHECK(memcmp(back, ymm5, 32) == 0);
        free(area);
        area = get_area(p, pid, &len);
        memcpy(&bv, area + 512, 8);
        CHECK(bv & 4);
    }
    free(area);
    expect_exit_ok(p); /* its own patterns are loaded later and unaffected */
    close(fd);
    ptrace_dbg_process_free(p);
}
