/* The tracee of the register tests (c-tests/test_xregs.c). It loads known, distinct patterns
 * into st0-st7, mxcsr, xmm0-15 (ymm0-15 with AVX, zmm0-31 with AVX-512) and k0-k7 (AVX-512BW),
 * stops at `xregs_checkpoint` (the test's breakpoint), optionally loads a second set over them
 * ("clobber"), passes `xregs_restore_point` (a second breakpoint), stores every register to
 * memory and compares it with the pattern of the phase it expects. All of that between the first
 * load and the store is assembly, so no compiled code touches a register in between.
 *
 * Usage: xregs EXPECT_PHASE [clobber] [threads N]
 *   EXPECT_PHASE 0: the registers must still hold what was loaded (phase 0);
 *   EXPECT_PHASE 1: the test wrote phase 1 at the checkpoint.
 *   clobber: load phase 1 after the checkpoint (the test restores phase 0 at the restore point).
 *   threads N: N threads do it at once, each with its own seed (1..N), which sits in r8 at the
 *   checkpoint; the main thread uses seed 0 when N is 0 (the default).
 * Prints "features F" (F: bits 1 AVX, 2 AVX-512, 4 AVX-512BW) first.
 * Exit status: 0 when every register of every thread matched, 1 when one did not (stderr says
 * which), 2 on bad usage. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../xregs_pattern.h"

/* xregs_run(in, in2, out, flags, seed): see the file comment. */
void xregs_run(const struct xregs_image *in, const struct xregs_image *in2,
               struct xregs_image *out, unsigned flags, unsigned long seed);

/* clang-format off */
#define LOAD(base)                                                                              \
    "finit\n"                                                                                   \
    ".irp i,7,6,5,4,3,2,1,0\n fldt (16*\\i)(" base ")\n.endr\n"                                 \
    "ldmxcsr 2240(" base ")\n"                                                                  \
    "test $2, %ecx\n jnz 2f\n"                                                                  \
    "test $1, %ecx\n jnz 1f\n"                                                                  \
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movdqu (128+64*\\i)(" base "), %xmm\\i\n.endr\n" \
    "jmp 4f\n"                                                                                  \
    "1:\n"                                                                                      \
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n vmovdqu (128+64*\\i)(" base "), %ymm\\i\n.endr\n" \
    "jmp 4f\n"                                                                                  \
    "2:\n"                                                                                      \
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n" \
    " vmovdqu64 (128+64*\\i)(" base "), %zmm\\i\n.endr\n"                                        \
    "test $4, %ecx\n jz 4f\n"                                                                   \
    ".irp i,0,1,2,3,4,5,6,7\n kmovq (2176+8*\\i)(" base "), %k\\i\n.endr\n"                      \
    "4:\n"

__asm__(
    ".text\n"
    ".globl xregs_run\n"
    ".type xregs_run, @function\n"
    "xregs_run:\n"
    LOAD("%rdi")
    ".globl xregs_checkpoint\n"
    ".type xregs_checkpoint, @function\n"
    "xregs_checkpoint:\n"
    "nop\n"
    "test $8, %ecx\n jz 5f\n"
    LOAD("%rsi")
    "5:\n"
    ".globl xregs_restore_point\n"
    ".type xregs_restore_point, @function\n"
    "xregs_restore_point:\n"
    "nop\n"
    ".irp i,0,1,2,3,4,5,6,7\n fstpt (16*\\i)(%rdx)\n.endr\n"
    "stmxcsr 2240(%rdx)\n"
    "test $2, %ecx\n jnz 2f\n"
    "test $1, %ecx\n jnz 1f\n"
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movdqu %xmm\\i, (128+64*\\i)(%rdx)\n.endr\n"
    "ret\n"
    "1:\n"
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n vmovdqu %ymm\\i, (128+64*\\i)(%rdx)\n.endr\n"
    "vzeroupper\n"
    "ret\n"
    "2:\n"
    ".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
    " vmovdqu64 %zmm\\i, (128+64*\\i)(%rdx)\n.endr\n"
    "vzeroupper\n"
    "test $4, %ecx\n jz 3f\n"
    ".irp i,0,1,2,3,4,5,6,7\n kmovq %k\\i, (2176+8*\\i)(%rdx)\n.endr\n"
    "3:\n"
    "ret\n"
    ".size xregs_run, .-xregs_run\n");
/* clang-format on */

static unsigned features(void) {
    __builtin_cpu_init();
    unsigned f = 0;
    if (__builtin_cpu_supports("avx")) f |= XREGS_AVX;
    if (__builtin_cpu_supports("avx512f")) f |= XREGS_AVX512;
    if ((f & XREGS_AVX512) && __builtin_cpu_supports("avx512bw")) f |= XREGS_AVX512BW;
    return f;
}

static unsigned g_features;
static int g_expect;
static int g_clobber;

/* Runs the sequence with `seed`; 1 if every register came back as expected. */
static int run_once(unsigned long seed) {
    static _Thread_local struct xregs_image in, in2, out, want;
    xregs_fill(&in, 0, (unsigned)seed);
    xregs_fill(&in2, 1, (unsigned)seed);
    xregs_fill(&want, g_expect, (unsigned)seed);
    memset(&out, 0, sizeof out);
    unsigned flags = g_features | (g_clobber ? XREGS_CLOBBER : 0);
    xregs_run(&in, &in2, &out, flags, seed);
    char what[64];
    int bad = xregs_compare(&out, &want, g_features, what, sizeof what);
    if (bad) fprintf(stderr, "xregs seed %lu: %s differs\n", seed, what);
    return !bad;
}

static void *thread_main(void *arg) {
    return (void *)(intptr_t)run_once((unsigned long)(uintptr_t)arg);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    g_expect = atoi(argv[1]);
    int threads = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "clobber") == 0) g_clobber = 1;
        else if (strcmp(argv[i], "threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else return 2;
    }
    g_features = features();
    printf("features %u\n", g_features);
    fflush(stdout);
    if (threads <= 0) return run_once(0) ? 0 : 1;
    pthread_t t[16];
    if (threads > 16) return 2;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)(uintptr_t)(i + 1));
    int ok = 1;
    for (int i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok &= (int)(intptr_t)r;
    }
    return ok ? 0 : 1;
}
