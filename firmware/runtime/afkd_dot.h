/*
 * afkd_dot.h - internal dot products of int8 weight rows with an int8 or int16 vector,
 * several rows at a time so each loaded input word serves all of them.
 *
 * With __ARM_FEATURE_DSP (Cortex-M4/M7/M33) four int8 weights are loaded as one word and
 * split by SXTB16 into the even pair [w0 w2] and the odd pair [w1 w3]; the input is
 * split the same way, and SMLAD multiplies and adds both halves in one cycle. Integer
 * sums are exact, so the pairing order changes nothing: the DSP and portable paths give
 * the same bits. The decoder_s8 helpers (afkd_dot*_s8) read plain row-major weights; the
 * dense kernels and the 16x8 decoder read weights packed 4 rows at a time (afkd_block4_*,
 * layout in export/intops_pack.py), so one pointer streams them and each input load
 * serves 4 rows.
 */
#ifndef AFKD_DOT_H
#define AFKD_DOT_H

#include <stdint.h>
#include <stddef.h>
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

/* Two int16 outputs stored as one word (STR allows any alignment on M4); with DSP one PKHBT
 * packs them. */
static inline void afkd_store_pair16(int16_t *out, int32_t lo_value, int32_t hi_value)
{
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
    uint32_t word;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(word) : "r"(lo_value), "r"(hi_value));
#else
    const uint32_t word = ((uint32_t)lo_value & 0xFFFFu) | ((uint32_t)hi_value << 16);
#endif
    memcpy(out, &word, sizeof word);
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
 * ---- Packed dense rows (export/intops_pack.py pack_dense_weights) ----
 * A group of 4 rows stores, per block of 4 columns, 16 bytes: 4 bytes of row 0, then rows
 * 1, 2, 3; after all blocks, each row's cols % 4 tail bytes. One pointer streams the group,
 * and each input word (and its SXTB16/PKH split) is loaded once for 4 rows.
 * Per block and 4 rows (16 MACs) the DSP loop issues 4 weight loads, 8 SXTB16, 8 SMLAD
 * plus the input's 1-2 loads and 2 splits (int8) or none (int16, see below).
 * The functions add into acc[0..3] (int32); callers bound the sums (see the kernels).
 */

/* One block (4 columns) of a packed int8 group: a0..a3 += w_i[0..3] . x[0..3]. */
static inline void afkd_block4_s8(const int8_t *w, const int8_t *x, int32_t *a0, int32_t *a1,
                                  int32_t *a2, int32_t *a3)
{
#if AFKD_USE_DSP
    const int32_t xv = afkd_load_word(x);
    const int16x2_t x_even = __sxtb16(xv);        /* [x0 x2] */
    const int16x2_t x_odd = afkd_sxtb16_odd(xv);  /* [x1 x3] */
    int32_t wv = afkd_load_word(w);
    *a0 = __smlad(__sxtb16(wv), x_even, *a0);
    *a0 = __smlad(afkd_sxtb16_odd(wv), x_odd, *a0);
    wv = afkd_load_word(w + 4);
    *a1 = __smlad(__sxtb16(wv), x_even, *a1);
    *a1 = __smlad(afkd_sxtb16_odd(wv), x_odd, *a1);
    wv = afkd_load_word(w + 8);
    *a2 = __smlad(__sxtb16(wv), x_even, *a2);
    *a2 = __smlad(afkd_sxtb16_odd(wv), x_odd, *a2);
    wv = afkd_load_word(w + 12);
    *a3 = __smlad(__sxtb16(wv), x_even, *a3);
    *a3 = __smlad(afkd_sxtb16_odd(wv), x_odd, *a3);
#else
    *a0 += w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3];
    *a1 += w[4] * x[0] + w[5] * x[1] + w[6] * x[2] + w[7] * x[3];
    *a2 += w[8] * x[0] + w[9] * x[1] + w[10] * x[2] + w[11] * x[3];
    *a3 += w[12] * x[0] + w[13] * x[1] + w[14] * x[2] + w[15] * x[3];
#endif
}

/*
 * The int16-input block. Each row's 4 bytes are stored (w0, w2, w1, w3): SXTB16 gives
 * [w0 w1] and SXTB16 ROR 8 gives [w2 w3], which pair with the input words [x0 x1] and
 * [x2 x3] as they lie in memory, so SMLAD needs no input repacking: 16 MACs in 2 + 4
 * loads, 8 SXTB16 and 8 SMLAD.
 */
static inline void afkd_block4_s16(const int8_t *w, const int16_t *x, int32_t *a0, int32_t *a1,
                                   int32_t *a2, int32_t *a3)
{
#if AFKD_USE_DSP
    const int32_t x01 = afkd_load_word(x);
    const int32_t x23 = afkd_load_word(x + 2);
    int32_t wv = afkd_load_word(w);
    *a0 = __smlad(__sxtb16(wv), x01, *a0);
    *a0 = __smlad(afkd_sxtb16_odd(wv), x23, *a0);
    wv = afkd_load_word(w + 4);
    *a1 = __smlad(__sxtb16(wv), x01, *a1);
    *a1 = __smlad(afkd_sxtb16_odd(wv), x23, *a1);
    wv = afkd_load_word(w + 8);
    *a2 = __smlad(__sxtb16(wv), x01, *a2);
    *a2 = __smlad(afkd_sxtb16_odd(wv), x23, *a2);
    wv = afkd_load_word(w + 12);
    *a3 = __smlad(__sxtb16(wv), x01, *a3);
    *a3 = __smlad(afkd_sxtb16_odd(wv), x23, *a3);
#else
    *a0 += w[0] * x[0] + w[1] * x[2] + w[2] * x[1] + w[3] * x[3];
    *a1 += w[4] * x[0] + w[5] * x[2] + w[6] * x[1] + w[7] * x[3];
    *a2 += w[8] * x[0] + w[9] * x[2] + w[10] * x[1] + w[11] * x[3];
    *a3 += w[12] * x[0] + w[13] * x[2] + w[14] * x[1] + w[15] * x[3];
#endif
}

/*
 * All `blocks` blocks of one packed 16x8 group: a0..a3 += w_i . x over 4 * blocks columns;
 * returns the weight pointer past the blocks. On a Cortex-M with DSP the loop is written in
 * assembly, because GCC neither pairs the loads into LDRD nor keeps the four accumulators,
 * both input words and the weight words in registers at once: per block of 16 MACs it
 * issues 3 LDRD, 8 SXTB16 and 8 SMLAD (19 instructions, 1.19 per MAC) against GCC's 26.
 * LDRD needs word-aligned addresses: the generated weight arrays are aligned(4), groups are
 * 4 * cols bytes long, and a misaligned input (a caller's own buffer) takes the C loop.
 * Same sums, same bits either way.
 */
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
#define AFKD_S16_BLOCK_ASM                       \
    "ldrd   %[x01], %[x23], [%[x]], #8\n\t"      \
    "ldrd   %[w0], %[w1], [%[w]], #8\n\t"        \
    "sxtb16 %[t], %[w0]\n\t"                     \
    "smlad  %[a0], %[t], %[x01], %[a0]\n\t"      \
    "sxtb16 %[w0], %[w0], ror #8\n\t"            \
    "smlad  %[a0], %[w0], %[x23], %[a0]\n\t"     \
    "sxtb16 %[t], %[w1]\n\t"                     \
    "smlad  %[a1], %[t], %[x01], %[a1]\n\t"      \
    "sxtb16 %[w1], %[w1], ror #8\n\t"            \
    "smlad  %[a1], %[w1], %[x23], %[a1]\n\t"     \
    "ldrd   %[w0], %[w1], [%[w]], #8\n\t"        \
    "sxtb16 %[t], %[w0]\n\t"                     \
    "smlad  %[a2], %[t], %[x01], %[a2]\n\t"      \
    "sxtb16 %[w0], %[w0], ror #8\n\t"            \
    "smlad  %[a2], %[w0], %[x23], %[a2]\n\t"     \
    "sxtb16 %[t], %[w1]\n\t"                     \
    "smlad  %[a3], %[t], %[x01], %[a3]\n\t"      \
    "sxtb16 %[w1], %[w1], ror #8\n\t"            \
    "smlad  %[a3], %[w1], %[x23], %[a3]\n\t"
#endif

__attribute__((always_inline)) static inline const int8_t *afkd_rows4_s16(const int8_t *w, const int16_t *x, int32_t blocks,
                                           int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
    if ((((uintptr_t)w | (uintptr_t)x) & 3u) == 0u && blocks > 0) {
        int32_t acc0 = *a0, acc1 = *a1, acc2 = *a2, acc3 = *a3;
        int32_t x01, x23, w0, w1, t;
        int32_t pairs = blocks >> 1;
        if (pairs > 0) {  /* two blocks per pass: one loop branch per 32 MACs */
            __asm__ volatile("1:\n\t" AFKD_S16_BLOCK_ASM AFKD_S16_BLOCK_ASM
                             "subs   %[n], %[n], #1\n\t"
                             "bne    1b\n\t"
                             : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3),
                               [w] "+r"(w), [x] "+r"(x), [n] "+r"(pairs), [x01] "=&r"(x01),
                               [x23] "=&r"(x23), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
                             :
                             : "cc", "memory");
        }
        if (blocks & 1) {
            __asm__ volatile(AFKD_S16_BLOCK_ASM
                             : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3),
                               [w] "+r"(w), [x] "+r"(x), [x01] "=&r"(x01), [x23] "=&r"(x23),
                               [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
                             :
                             : "memory");
        }
        *a0 = acc0;
        *a1 = acc1;
        *a2 = acc2;
        *a3 = acc3;
        return w;
    }
#endif
    for (int32_t j = 0; j < blocks; j++, w += 16, x += 4) {
        afkd_block4_s16(w, x, a0, a1, a2, a3);
    }
    return w;
}

/*
 * ---- int16-stored weights (export/intops_pack.py pack_dense_weights16) ----
 * The 16x8 kernels' fast layout: the same 4-row groups and 4-column blocks, each weight
 * sign-extended to int16, so a row's block is the words [w0 w1] [w2 w3] that SMLAD takes
 * with the input words [x0 x1] [x2 x3] as they are. Per block and 4 rows (16 MACs): one
 * LDRD of the input, 2 LDM of four weight words and 8 SMLAD, 11 instructions (0.69 per MAC).
 */
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
/* Two rows' block words with one LDM into r8-r11 (declared clobbered: LDM needs its registers
 * in ascending order, which only fixed registers guarantee). */
#define AFKD_W16_ROWS2_ASM(first, second)                    \
    "ldmia  %[w]!, {r8, r9, r10, r11}\n\t"                   \
    "smlad  %[" first "], r8, %[x01], %[" first "]\n\t"      \
    "smlad  %[" first "], r9, %[x23], %[" first "]\n\t"      \
    "smlad  %[" second "], r10, %[x01], %[" second "]\n\t"   \
    "smlad  %[" second "], r11, %[x23], %[" second "]\n\t"
#define AFKD_W16_BLOCK_ASM                                   \
    "ldrd   %[x01], %[x23], [%[x]], #8\n\t"                  \
    AFKD_W16_ROWS2_ASM("a0", "a1") AFKD_W16_ROWS2_ASM("a2", "a3")
#endif

/* a0..a3 += w_i . x over `blocks` blocks of 4 columns of an int16-stored group, in plain C
 * (any alignment); returns the weight pointer past them. */
static inline const int16_t *afkd_rows4_w16_c(const int16_t *w, const int16_t *x, int32_t blocks,
                                              int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    for (int32_t j = 0; j < blocks; j++, w += 16, x += 4) {
        *a0 += w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3];
        *a1 += w[4] * x[0] + w[5] * x[1] + w[6] * x[2] + w[7] * x[3];
        *a2 += w[8] * x[0] + w[9] * x[1] + w[10] * x[2] + w[11] * x[3];
        *a3 += w[12] * x[0] + w[13] * x[1] + w[14] * x[2] + w[15] * x[3];
    }
    return w;
}

/* a0..a3 += w_i . x over `blocks` blocks of 4 columns; returns the weight pointer past them.
 * The caller guarantees word-aligned w and x on DSP builds (LDRD): the generated arrays are
 * aligned(4) and the kernels test the input. Same sums in the C loop. */
__attribute__((always_inline)) static inline const int16_t *afkd_rows4_w16_aligned(
    const int16_t *w, const int16_t *x, int32_t blocks, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
    int32_t acc0 = *a0, acc1 = *a1, acc2 = *a2, acc3 = *a3;
    int32_t x01, x23;
    int32_t pairs = blocks >> 1;
    if (pairs > 0) {  /* two blocks per pass: one loop branch per 32 MACs */
        __asm__ volatile("1:\n\t" AFKD_W16_BLOCK_ASM AFKD_W16_BLOCK_ASM
                         "subs   %[n], %[n], #1\n\t"
                         "bne    1b\n\t"
                         : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3),
                           [w] "+r"(w), [x] "+r"(x), [n] "+r"(pairs), [x01] "=&r"(x01),
                           [x23] "=&r"(x23)
                         :
                         : "cc", "memory", "r8", "r9", "r10", "r11");
    }
    if (blocks & 1) {
        __asm__ volatile(AFKD_W16_BLOCK_ASM
                         : [a0] "+r"(acc0), [a1] "+r"(acc1), [a2] "+r"(acc2), [a3] "+r"(acc3),
                           [w] "+r"(w), [x] "+r"(x), [x01] "=&r"(x01), [x23] "=&r"(x23)
                         :
                         : "memory", "r8", "r9", "r10", "r11");
    }
    *a0 = acc0;
    *a1 = acc1;
    *a2 = acc2;
    *a3 = acc3;
    return w;
#else
    return afkd_rows4_w16_c(w, x, blocks, a0, a1, a2, a3);
#endif
}

/* The same for any alignment: misaligned pointers take the C loop. */
static inline const int16_t *afkd_rows4_w16(const int16_t *w, const int16_t *x, int32_t blocks,
                                            int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    if ((((uintptr_t)w | (uintptr_t)x) & 3u) == 0u) {
        return afkd_rows4_w16_aligned(w, x, blocks, a0, a1, a2, a3);
    }
    return afkd_rows4_w16_c(w, x, blocks, a0, a1, a2, a3);
}

/* The cols % 4 tail of an int16-stored group (row after row). */
static inline void afkd_tail4_w16(const int16_t *w, const int16_t *x, int32_t rem, int32_t *a0,
                                  int32_t *a1, int32_t *a2, int32_t *a3)
{
    for (int32_t k = 0; k < rem; k++) {
        *a0 += w[k] * x[k];
        *a1 += w[rem + k] * x[k];
        *a2 += w[2 * rem + k] * x[k];
        *a3 += w[3 * rem + k] * x[k];
    }
}

/* One int16-stored row (after the last group of 4): w . x over cols terms. */
static inline int32_t afkd_dot1_w16(const int16_t *w, const int16_t *x, int32_t cols)
{
    int32_t a = 0;
    for (int32_t k = 0; k < cols; k++) {
        a += w[k] * x[k];
    }
    return a;
}

/* The cols % 4 tail of a packed group (stored plainly, row after row). */
static inline void afkd_tail4_s16(const int8_t *w, const int16_t *x, int32_t rem, int32_t *a0,
                                  int32_t *a1, int32_t *a2, int32_t *a3)
{
    for (int32_t k = 0; k < rem; k++) {
        *a0 += w[k] * x[k];
        *a1 += w[rem + k] * x[k];
        *a2 += w[2 * rem + k] * x[k];
        *a3 += w[3 * rem + k] * x[k];
    }
}

static inline void afkd_tail4_s8(const int8_t *w, const int8_t *x, int32_t rem, int32_t *a0,
                                 int32_t *a1, int32_t *a2, int32_t *a3)
{
    for (int32_t k = 0; k < rem; k++) {
        *a0 += w[k] * x[k];
        *a1 += w[rem + k] * x[k];
        *a2 += w[2 * rem + k] * x[k];
        *a3 += w[3 * rem + k] * x[k];
    }
}

/* One packed int16-input row (the rows after the last group of 4): returns w . x. */
static inline int32_t afkd_dot1_packed_s16(const int8_t *w, const int16_t *x, int32_t blocks,
                                           int32_t rem)
{
    int32_t a = 0;
    for (int32_t j = 0; j < blocks; j++, w += 4, x += 4) {
#if AFKD_USE_DSP
        const int32_t wv = afkd_load_word(w);
        a = __smlad(__sxtb16(wv), afkd_load_word(x), a);
        a = __smlad(afkd_sxtb16_odd(wv), afkd_load_word(x + 2), a);
#else
        a += w[0] * x[0] + w[1] * x[2] + w[2] * x[1] + w[3] * x[3];
#endif
    }
    for (int32_t k = 0; k < rem; k++) {
        a += w[k] * x[k];
    }
    return a;
}

/*
 * Chunk length for int16 x int8 sums: |w*x| <= 2^22, so 256 terms stay below 2^30 in
 * int32 before being flushed into the int64 accumulator that TFLite's 16x8 kernels use.
 */
#define AFKD_S16_CHUNK 256

#endif /* AFKD_DOT_H */
