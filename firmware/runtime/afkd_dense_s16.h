/*
 * afkd_dense_s16.h - internal: the 16x8 matrix-vector product behind the pointwise conv and
 * the encoder (TFLite reference_integer_ops::ConvPerChannel, int16 input, int64 bias):
 *   acc[r] = bias[r] + sum_k w[r][k] * x[k]
 *   out[r] = clamp((acc[r] * m16[r] + 2^(ts[r]-1)) >> ts[r], act_min, act_max)  (zero point 0)
 * or, when the exporter gives multiplier32 = m16 << (32 - ts), the same value as one SMMULR.
 * Weights are packed 4 rows at a time (afkd_dot.h). When bias64 is NULL the exporter has
 * proved |bias| + cols * 2^22 < 2^31 (|w*x| <= 2^7 * 2^15), so the int32 sum equals
 * TFLite's int64 one and the output stage takes afkd_requantize16's 32-bit route.
 * Otherwise sums of at most AFKD_S16_CHUNK columns (< 2^30) are added into int64.
 */
#ifndef AFKD_DENSE_S16_H
#define AFKD_DENSE_S16_H

#include "afkd_dense16_m4.h"
#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

#if AFKD_S16_OTHER_LAYOUTS
/* Packed int8 weights, int32 sums (bias64 == NULL), any shape, range and alignment: each
 * output through the SMMULR multiplier when the exporter made one (afkd_kernels.h,
 * multiplier32), TFLite's (m16, ts) form otherwise. */
__attribute__((noinline)) static void afkd_dense_s16_narrow(const afkd_dense_s16_params *p, const int16_t *x,
                                                            int16_t *out)
{
    const int32_t rows = p->rows, cols = p->cols, blocks = cols >> 2, rem = cols & 3;
    const int8_t *w = p->weights;
    const int32_t *const bias = p->bias;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t acc[4];
        for (int32_t i = 0; i < 4; i++) {
            acc[i] = bias != NULL ? bias[r + i] : 0;
        }
        w = afkd_rows4_s16(w, x, blocks, &acc[0], &acc[1], &acc[2], &acc[3]);
        afkd_tail4_s16(w, x + 4 * blocks, rem, &acc[0], &acc[1], &acc[2], &acc[3]);
        w += 4 * rem;
        for (int32_t i = 0; i < 4; i++) {
            const int32_t y = p->multiplier32 != NULL ? afkd_smmulr(acc[i], p->multiplier32[r + i])
                                                      : afkd_requantize16(acc[i], p->multiplier[r + i], p->shift[r + i]);
            out[r + i] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
        }
    }
    for (; r < rows; r++, w += cols) {
        const int32_t acc = (bias != NULL ? bias[r] : 0) + afkd_dot1_packed_s16(w, x, blocks, rem);
        const int32_t y = p->multiplier32 != NULL ? afkd_smmulr(acc, p->multiplier32[r])
                                                  : afkd_requantize16(acc, p->multiplier[r], p->shift[r]);
        out[r] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
#endif

#if AFKD_S16_DENSE_W16
/* The int16-stored-weight path in plain C: any rows, cols, bias, alignment and range. */
__attribute__((noinline)) static void afkd_dense_s16_w16_any(const afkd_dense_s16_params *p, const int16_t *x,
                                                             int16_t *out)
{
    const int32_t rows = p->rows, cols = p->cols, blocks = cols >> 2, rem = cols & 3;
    const int16_t *w = p->weights16;
    const int32_t *const m32 = p->multiplier32;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t acc[4];
        for (int32_t i = 0; i < 4; i++) {
            acc[i] = p->bias != NULL ? p->bias[r + i] : 0;
        }
        w = afkd_rows4_w16(w, x, blocks, &acc[0], &acc[1], &acc[2], &acc[3]);
        afkd_tail4_w16(w, x + 4 * blocks, rem, &acc[0], &acc[1], &acc[2], &acc[3]);
        w += 4 * rem;
        for (int32_t i = 0; i < 4; i++) {
            out[r + i] = (int16_t)afkd_clamp(afkd_smmulr(acc[i], m32[r + i]), p->act_min, p->act_max);
        }
    }
    for (; r < rows; r++, w += cols) {
        const int32_t acc = (p->bias != NULL ? p->bias[r] : 0) + afkd_dot1_w16(w, x, cols);
        out[r] = (int16_t)afkd_clamp(afkd_smmulr(acc, m32[r]), p->act_min, p->act_max);
    }
}
#endif

/*
 * The fastest path, for the shape every afkd layer has: rows a multiple of 4, cols a
 * multiple of 4, word-aligned input, and no clamp but the int16 range (relu = 0) or
 * [0, 32767] (relu = 1). Kept this small so GCC holds the whole group in registers: per
 * group of 4 rows, 2 LDRD of bias, the MAC loop, 4 SMMULR, 4 SSAT (or USAT) and 2 word
 * stores. The weights are int16-stored (LDM/SMLAD) or packed int8 (SXTB16/SMLAD);
 * relu and int16_weights are constants in each of the wrappers below, each its own function so
 * that GCC allocates registers for this loop alone. Anything else takes the general paths.
 */
__attribute__((always_inline)) static inline void afkd_dense_s16_fast(const afkd_dense_s16_params *p, const int16_t *x,
                                                                     int16_t *out, int relu, int int16_weights)
{
    const int32_t rows = p->rows, cols = p->cols;
    const int32_t blocks = cols >> 2;
    const int16_t *w16 = p->weights16;
    const int8_t *w8 = p->weights;   /* int16_weights == 0: the packed int8 layout (SXTB16 loop) */
    const int32_t *b = p->bias;
    const int32_t *m = p->multiplier32;
    for (int32_t g = rows >> 2; g > 0; g--, m += 4, out += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (b != NULL) {  /* a conv without bias (the interaction module's cross term) has none */
            a0 = b[0];
            a1 = b[1];
            a2 = b[2];
            a3 = b[3];
            b += 4;
        }
        if (int16_weights) {
            w16 = afkd_rows4_w16_aligned(w16, x, blocks, &a0, &a1, &a2, &a3);
        } else {
            w8 = afkd_rows4_s16(w8, x, blocks, &a0, &a1, &a2, &a3);
        }
        a0 = afkd_smmulr(a0, m[0]);
        a1 = afkd_smmulr(a1, m[1]);
        a2 = afkd_smmulr(a2, m[2]);
        a3 = afkd_smmulr(a3, m[3]);
        if (relu) {
            a0 = afkd_saturate_relu16(a0);
            a1 = afkd_saturate_relu16(a1);
            a2 = afkd_saturate_relu16(a2);
            a3 = afkd_saturate_relu16(a3);
        } else {
            a0 = afkd_saturate16(a0);
            a1 = afkd_saturate16(a1);
            a2 = afkd_saturate16(a2);
            a3 = afkd_saturate16(a3);
        }
        afkd_store_pair16(out, a0, a1);
        afkd_store_pair16(out + 2, a2, a3);
    }
}

/* Whether afkd_dense_s16_fast may run: the shape and alignment it assumes (and for the int8
 * layout, SMMULR multipliers and int32 sums). */
static inline int afkd_dense_s16_fast_fits(const afkd_dense_s16_params *p, const int16_t *x)
{
    const void *w = p->weights16 != NULL ? (const void *)p->weights16 : (const void *)p->weights;
    return p->multiplier32 != NULL && p->bias64 == NULL && ((p->rows | p->cols) & 3) == 0 &&
           (((uintptr_t)x | (uintptr_t)w) & 3u) == 0u;
}

#if AFKD_S16_DENSE_W16
/* The C group loop: the assembly routine's fallback (no bias, more than 64 columns) and the
 * portable build's fast path. */
__attribute__((noinline)) static void afkd_dense_s16_w16_full(const afkd_dense_s16_params *p, const int16_t *x,
                                                              int16_t *out)
{
    afkd_dense_s16_fast(p, x, out, 0, 1);
}

__attribute__((noinline)) static void afkd_dense_s16_w16_relu(const afkd_dense_s16_params *p, const int16_t *x,
                                                              int16_t *out)
{
    afkd_dense_s16_fast(p, x, out, 1, 1);
}
#endif

#if AFKD_S16_OTHER_LAYOUTS && (!AFKD_DENSE16_ASM || AFKD_S16_W8_WIDE)
__attribute__((noinline)) static void afkd_dense_s16_w8_full(const afkd_dense_s16_params *p, const int16_t *x,
                                                             int16_t *out)
{
    afkd_dense_s16_fast(p, x, out, 0, 0);
}

__attribute__((noinline)) static void afkd_dense_s16_w8_relu(const afkd_dense_s16_params *p, const int16_t *x,
                                                             int16_t *out)
{
    afkd_dense_s16_fast(p, x, out, 1, 0);
}
#endif

#if AFKD_S16_OTHER_LAYOUTS
/* General path: int64 accumulators; int32 partial sums over at most AFKD_S16_CHUNK columns. */
__attribute__((noinline)) static void afkd_dense_s16_wide(const afkd_dense_s16_params *p, const int16_t *x, int16_t *out)
{
    const int32_t rows = p->rows, cols = p->cols, blocks = cols >> 2, rem = cols & 3;
    const int32_t chunk_blocks = AFKD_S16_CHUNK / 4;
    const int8_t *w = p->weights;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int64_t acc[4];
        for (int32_t i = 0; i < 4; i++) {
            acc[i] = p->bias64[r + i];
        }
        const int16_t *xp = x;
        for (int32_t b = 0; b < blocks; b += chunk_blocks) {
            const int32_t end = blocks - b < chunk_blocks ? blocks : b + chunk_blocks;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int32_t j = b; j < end; j++, w += 16, xp += 4) {
                afkd_block4_s16(w, xp, &a0, &a1, &a2, &a3);
            }
            acc[0] += a0;
            acc[1] += a1;
            acc[2] += a2;
            acc[3] += a3;
        }
        int32_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        afkd_tail4_s16(w, xp, rem, &t0, &t1, &t2, &t3);
        w += 4 * rem;
        acc[0] += t0;
        acc[1] += t1;
        acc[2] += t2;
        acc[3] += t3;
        for (int32_t i = 0; i < 4; i++) {
            const int32_t y = afkd_requantize16_wide(acc[i], p->multiplier[r + i], p->shift[r + i]);
            out[r + i] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
        }
    }
    for (; r < rows; r++, w += cols) {
        int64_t acc = p->bias64[r];
        for (int32_t b = 0; b < blocks; b += chunk_blocks) {
            const int32_t n = blocks - b < chunk_blocks ? blocks - b : chunk_blocks;
            acc += afkd_dot1_packed_s16(w + 4 * b, x + 4 * b, n, 0);
        }
        acc += afkd_dot1_packed_s16(w + 4 * blocks, x + 4 * blocks, 0, rem);
        const int32_t y = afkd_requantize16_wide(acc, p->multiplier[r], p->shift[r]);
        out[r] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
#endif

static inline void afkd_dense_s16(const afkd_dense_s16_params *p, const int16_t *x, int16_t *out)
{
#if AFKD_DENSE16_ASM && !AFKD_S16_OTHER_LAYOUTS
    /* The exported layers' case first, straight to the assembly routine (the generated step
     * calls afkd_pointwise_s16_w16 for these, so only a build whose layers all have the int16
     * layout links the routine from here too: an int8-storage image stays without it). */
    if (p->weights16 != NULL && p->multiplier32 != NULL && p->bias != NULL && p->bias64 == NULL &&
        ((p->rows | p->cols) & 3) == 0 && p->rows > 0 && p->cols > 0 && p->cols <= 64 && p->act_max == 32767 &&
        (((uintptr_t)x | (uintptr_t)p->weights16) & 3u) == 0u) {
        if (p->act_min == -32768) {
            afkd_dense16_groups_full(p->bias, p->weights16, x, out, p->multiplier32, p->rows >> 2, p->cols >> 2);
            return;
        }
        if (p->act_min == 0) {
            afkd_dense16_groups_relu(p->bias, p->weights16, x, out, p->multiplier32, p->rows >> 2, p->cols >> 2);
            return;
        }
    }
#endif
    const int full = p->act_min == -32768 && p->act_max == 32767;
    const int relu = p->act_min == 0 && p->act_max == 32767;
    if ((full || relu) && afkd_dense_s16_fast_fits(p, x)) {
#if AFKD_S16_OTHER_LAYOUTS
        if (p->weights16 == NULL) {  /* packed int8 weights (--weight-storage int8) */
#if AFKD_DENSE16_ASM
            if (p->rows > 0 && p->cols > 0 && p->cols <= 4 * AFKD_DENSE16_MAX_BLOCKS) {
                const int32_t *bias = p->bias != NULL ? p->bias : afkd_dense16_w8_zero_bias;
                const int32_t mode = (p->bias != NULL ? AFKD_DENSE16_W8_HAS_BIAS : 0) + relu;
                afkd_dense16_w8_groups(bias, p->weights, x, out, p->multiplier32, p->rows >> 2, p->cols >> 2, mode);
                return;
            }
#endif
#if !AFKD_DENSE16_ASM || AFKD_S16_W8_WIDE
            /* more than 64 columns (or no assembly): the C group loop; an export without such
             * layers leaves it out (AFKD_S16_W8_WIDE=0), and a layer that still comes here takes
             * the general loop below */
            if (full) {
                afkd_dense_s16_w8_full(p, x, out);
            } else {
                afkd_dense_s16_w8_relu(p, x, out);
            }
            return;
#endif
        } else
#endif
        {
#if AFKD_S16_DENSE_W16
            if (full) {
                afkd_dense_s16_w16_full(p, x, out);
            } else {
                afkd_dense_s16_w16_relu(p, x, out);
            }
            return;
#endif
        }
    }
#if AFKD_S16_OTHER_LAYOUTS
    if (p->weights16 == NULL) {
        if (p->bias64 != NULL) {
            afkd_dense_s16_wide(p, x, out);
        } else {
            afkd_dense_s16_narrow(p, x, out);
        }
        return;
    }
#endif
#if AFKD_S16_DENSE_W16
    afkd_dense_s16_w16_any(p, x, out);  /* int16-stored weights come with multiplier32 */
#endif
}

#endif /* AFKD_DENSE_S16_H */
