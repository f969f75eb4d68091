/* The register patterns the register tests load and expect, shared by the tracee
 * (c-tests/tracees/xregs.c) and the test (c-tests/test_xregs.c): one definition, so both sides
 * agree on every byte. A pattern depends on the phase (0: loaded by the tracee, 1: written by
 * the test), the seed (one per thread) and the register, so no two registers hold the same
 * bytes. */
#ifndef PTRACE_DBG_XREGS_PATTERN_H
#define PTRACE_DBG_XREGS_PATTERN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Feature bits (the tracee's "features" line and its flags argument). */
#define XREGS_AVX 1u
#define XREGS_AVX512 2u
#define XREGS_AVX512BW 4u
#define XREGS_CLOBBER 8u

/* What the tracee loads and stores; the offsets are fixed in its assembly. */
struct xregs_image {
    uint8_t st[8][16];  /* st0-st7: 10 bytes each (80-bit), at 0 */
    uint8_t vec[32][64]; /* zmm0-31 (xmm/ymm: the low 16/32 bytes), at 128 */
    uint8_t k[8][8];    /* k0-k7, at 2176 */
    uint32_t mxcsr;     /* at 2240 */
    uint8_t pad[60];
};

/* Register ids for the pattern: st i -> i, vector i -> 8 + i, k i -> 40 + i, mxcsr 48. */
static inline uint8_t xregs_byte(int phase, unsigned seed, int reg, int byte) {
    return (uint8_t)(seed * 53u + (unsigned)phase * 101u + (unsigned)reg * 31u +
                     (unsigned)byte * 7u + 1u);
}

/* st i of a phase: a normal 80-bit number (integer bit set, exponent 0x3fXX), so FLD and FSTP
 * keep every bit. */
static inline void xregs_st(int phase, unsigned seed, int i, uint8_t out[10]) {
    for (int b = 0; b < 9; b++) out[b] = xregs_byte(phase, seed, i, b);
    out[7] |= 0x80;
    out[9] = 0x3f;
}

/* MXCSR of a phase: the default with status flags only (harmless to the program): PE (bit 5)
 * in phase 1, UE (bit 4) for odd seeds. */
static inline uint32_t xregs_mxcsr(int phase, unsigned seed) {
    return 0x1f80u | (phase ? 0x20u : 0) | ((seed & 1) ? 0x10u : 0);
}

static inline void xregs_fill(struct xregs_image *img, int phase, unsigned seed) {
    memset(img, 0, sizeof *img);
    for (int i = 0; i < 8; i++) xregs_st(phase, seed, i, img->st[i]);
    for (int i = 0; i < 32; i++)
        for (int b = 0; b < 64; b++) img->vec[i][b] = xregs_byte(phase, seed, 8 + i, b);
    for (int i = 0; i < 8; i++)
        for (int b = 0; b < 8; b++) img->k[i][b] = xregs_byte(phase, seed, 40 + i, b);
    img->mxcsr = xregs_mxcsr(phase, seed);
}

/* How many vector registers and bytes of each the features give. */
static inline void xregs_vectors(unsigned features, int *count, int *bytes) {
    *count = (features & XREGS_AVX512) ? 32 : 16;
    *bytes = (features & XREGS_AVX512) ? 64 : (features & XREGS_AVX) ? 32 : 16;
}

/* Compares what the features cover; 0 if equal, else 1 with the first difference named. */
static inline int xregs_compare(const struct xregs_image *got, const struct xregs_image *want,
                                unsigned features, char *what, size_t size) {
    int count, bytes;
    xregs_vectors(features, &count, &bytes);
    for (int i = 0; i < 8; i++)
        if (memcmp(got->st[i], want->st[i], 10) != 0) return snprintf(what, size, "st%d", i), 1;
    if (got->mxcsr != want->mxcsr) return snprintf(what, size, "mxcsr"), 1;
    for (int i = 0; i < count; i++)
        if (memcmp(got->vec[i], want->vec[i], (size_t)bytes) != 0)
            return snprintf(what, size, "vector register %d", i), 1;
    if (features & XREGS_AVX512BW)
        for (int i = 0; i < 8; i++)
            if (memcmp(got->k[i], want->k[i], 8) != 0) return snprintf(what, size, "k%d", i), 1;
    return 0;
}

#endif
