/*
 * afkd_dot.h - internal dot products of int8 weight rows with an int8 or int16 vector,
 * several rows at a time so each loaded input word serves all of them.
 *
 * With __ARM_FEATURE_DSP (Cortex-M4/M7/M33) four int8 weights are loaded as one word and
 * split by SXTB16 into the even pair [w0 w2] and the odd pair [w1 w3]; the input is
 * split the same way, and SMLAD multiplies and adds both halves in one cycle. Integer
 * sums are exact, so the pairing order changes nothing: the DSP and portable paths give
 * the same bits. Weights keep TFLite's plain row-major layout (no packing needed).
 */
#ifndef AFKD_DOT_H
#define AFKD_DOT_H

#include <stdint.h>
#include <string.h>

#if defined(AFKD_DSP_EMULATION)
/* Host tests: a C model of the DSP intrinsics, so the DSP loops run (and are checked
 * against TFLite) on the build machine. */
#include AFKD_DSP_EMULATION
#define AFKD_USE_DSP 1
#elif defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define AFKD_USE_DSP 1
/* SXTB16 with ROR #8: the odd bytes [b1 b3] as two int16 (one instruction; GCC does not
 * fuse a C rotate into SXTB16 and its ACLE has no __sxtb16 rotate form). */
static inline int16x2_t afkd_sxtb16_odd(int32_t x)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* PKHBT / PKHTB: regroup int16 pairs [x0 x1], [x2 x3] into [x0 x2] and [x1 x3], the pairs
 * SXTB16 makes of four int8 weights (GCC neither has them in ACLE nor finds them in C). */
static inline int16x2_t afkd_pack_low_halves(uint32_t x01, uint32_t x23)
{
    int16x2_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(x01), "r"(x23));
    return r;
}

static inline int16x2_t afkd_pack_high_halves(uint32_t x01, uint32_t x23)
{
    int16x2_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(x23), "r"(x01));
    return r;
}
#else
#define AFKD_USE_DSP 0
#endif

/* Unaligned 32-bit load (LDR allows unaligned access on M4; memcpy compiles to it). */
static inline int32_t afkd_load_word(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/*
 * acc0 += w0 . x, acc1 += w1 . x over n int8 terms.
 * |w*x| <= 2^14, so int32 holds 2^17 terms: any channel count afkd uses.
 */
static inline void afkd_dot2_s8(const int8_t *w0, const int8_t *w1, const int8_t *x, int32_t n,
                                int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    int32_t k = 0;
#if AFKD_USE_DSP
    for (; k + 4 <= n; k += 4) {
        const int32_t xv = afkd_load_word(x + k);
        const int16x2_t x_even = __sxtb16(xv);
        const int16x2_t x_odd = afkd_sxtb16_odd(xv);
        const int32_t wv0 = afkd_load_word(w0 + k);
        const int32_t wv1 = afkd_load_word(w1 + k);
        a0 = __smlad(__sxtb16(wv0), x_even, a0);
        a0 = __smlad(afkd_sxtb16_odd(wv0), x_odd, a0);
        a1 = __smlad(__sxtb16(wv1), x_even, a1);
        a1 = __smlad(afkd_sxtb16_odd(wv1), x_odd, a1);
    }
#endif
    for (; k < n; k++) {
        a0 += (int32_t)w0[k] * x[k];
        a1 += (int32_t)w1[k] * x[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/*
 * acc[i] += w[i] . x for three rows (the dense kernels' main loop). One input word and its
 * two SXTB16 halves serve three rows: per 12 MACs 4 loads, 8 SXTB16, 6 SMLAD and the loop
 * branch, about 1.7 instructions per MAC. Three rows, not four, because three accumulators,
 * three row pointers and the input halves still fit the Cortex-M4's registers (four spill).
 */
static inline void afkd_dot3_s8(const int8_t *w0, const int8_t *w1, const int8_t *w2,
                                const int8_t *x, int32_t n, int32_t *acc0, int32_t *acc1,
                                int32_t *acc2)
{
    int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2;
    int32_t k = 0;
#if AFKD_USE_DSP
    for (; k + 4 <= n; k += 4) {
        const int32_t xv = afkd_load_word(x + k);
        const int16x2_t x_even = __sxtb16(xv);
        const int16x2_t x_odd = afkd_sxtb16_odd(xv);
        int32_t wv = afkd_load_word(w0 + k);
        a0 = __smlad(__sxtb16(wv), x_even, a0);
        a0 = __smlad(afkd_sxtb16_odd(wv), x_odd, a0);
        wv = afkd_load_word(w1 + k);
        a1 = __smlad(__sxtb16(wv), x_even, a1);
        a1 = __smlad(afkd_sxtb16_odd(wv), x_odd, a1);
        wv = afkd_load_word(w2 + k);
        a2 = __smlad(__sxtb16(wv), x_even, a2);
        a2 = __smlad(afkd_sxtb16_odd(wv), x_odd, a2);
    }
#endif
    for (; k < n; k++) {
        a0 += (int32_t)w0[k] * x[k];
        a1 += (int32_t)w1[k] * x[k];
        a2 += (int32_t)w2[k] * x[k];
    }
    *acc0 = a0;
    *acc1 = a1;
    *acc2 = a2;
}

static inline int32_t afkd_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t a0 = 0, a1 = 0;
    afkd_dot2_s8(w, w, x, n, &a0, &a1);
    return a0;
}

/*
 * Chunk length for int16 x int8 sums: |w*x| <= 2^22, so 256 terms stay below 2^30 in
 * int32 before being flushed into the int64 accumulator that TFLite's 16x8 kernels use.
 */
#define AFKD_S16_CHUNK 256

/* *acc0 = w0 . x, *acc1 = w1 . x over n <= AFKD_S16_CHUNK terms in int32 (exact, see
 * above). Kept out of line: inlined among the callers' int64 accumulators, GCC spills the
 * loop's registers to the stack on every iteration. */
__attribute__((noinline)) static void afkd_dot2_s16_chunk(const int8_t *w0, const int8_t *w1, const int16_t *x,
                                       int32_t n, int32_t *acc0, int32_t *acc1)
{
    int32_t a0 = 0, a1 = 0;
    int32_t k = 0;
#if AFKD_USE_DSP
    for (; k + 4 <= n; k += 4) {
        const uint32_t x01 = (uint32_t)afkd_load_word(x + k);
        const uint32_t x23 = (uint32_t)afkd_load_word(x + k + 2);
        const int16x2_t x_even = afkd_pack_low_halves(x01, x23);
        const int16x2_t x_odd = afkd_pack_high_halves(x01, x23);
        const int32_t wv0 = afkd_load_word(w0 + k);
        const int32_t wv1 = afkd_load_word(w1 + k);
        a0 = __smlad(__sxtb16(wv0), x_even, a0);
        a0 = __smlad(afkd_sxtb16_odd(wv0), x_odd, a0);
        a1 = __smlad(__sxtb16(wv1), x_even, a1);
        a1 = __smlad(afkd_sxtb16_odd(wv1), x_odd, a1);
    }
#endif
    for (; k < n; k++) {
        a0 += (int32_t)w0[k] * x[k];
        a1 += (int32_t)w1[k] * x[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* acc0 += w0 . x, acc1 += w1 . x over n terms, x int16, w int8, exact in int64. */
static inline void afkd_dot2_s16(const int8_t *w0, const int8_t *w1, const int16_t *x, int32_t n,
                                 int64_t *acc0, int64_t *acc1)
{
    for (int32_t start = 0; start < n; start += AFKD_S16_CHUNK) {
        const int32_t length = (n - start > AFKD_S16_CHUNK) ? AFKD_S16_CHUNK : n - start;
        int32_t a0, a1;
        afkd_dot2_s16_chunk(w0 + start, w1 + start, x + start, length, &a0, &a1);
        *acc0 += a0;
        *acc1 += a1;
    }
}

#endif /* AFKD_DOT_H */
