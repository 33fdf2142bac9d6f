/*
 * afkd_dense_s16.h - internal: the 16x8 matrix-vector product behind the pointwise conv and
 * the encoder (TFLite reference_integer_ops::ConvPerChannel, int16 input, int64 bias):
 *   acc[r] = bias[r] + sum_k w[r][k] * x[k]
 *   out[r] = clamp((acc[r] * m16[r] + 2^(ts[r]-1)) >> ts[r], act_min, act_max)  (zero point 0)
 * Weights are packed 4 rows at a time (afkd_dot.h). When bias64 is NULL the exporter has
 * proved |bias| + cols * 2^22 < 2^31 (|w*x| <= 2^7 * 2^15), so the int32 sum equals
 * TFLite's int64 one and the output stage takes afkd_requantize16's 32-bit route.
 * Otherwise sums of at most AFKD_S16_CHUNK columns (< 2^30) are added into int64.
 */
#ifndef AFKD_DENSE_S16_H
#define AFKD_DENSE_S16_H

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* Output ranges with a one-instruction clamp (SSAT / USAT), chosen once per call. */
enum { AFKD_RANGE_ANY = 0, AFKD_RANGE_FULL = 1, AFKD_RANGE_RELU = 2 };

static inline int16_t afkd_finish16(int32_t acc, int32_t m16, int32_t ts, int32_t lo, int32_t hi,
                                    int range)
{
    const int32_t y = afkd_requantize16(acc, m16, ts);
    if (range == AFKD_RANGE_FULL) {
        return (int16_t)afkd_saturate16(y);
    }
    if (range == AFKD_RANGE_RELU) {
        return (int16_t)afkd_saturate_relu16(y);
    }
    return (int16_t)afkd_clamp(y, lo, hi);
}

/* Fast path: int32 accumulators (bias64 == NULL); range is a constant at each call site. */
__attribute__((always_inline)) static inline void afkd_dense_s16_narrow(const afkd_dense_s16_params *p, const int16_t *x,
                                         int16_t *out, int range)
{
    const int32_t rows = p->rows, cols = p->cols, blocks = cols >> 2, rem = cols & 3;
    const int8_t *w = p->weights;
    const int32_t *const bias = p->bias;
    const int16_t *const m16 = p->multiplier;
    const uint8_t *const ts = p->shift;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (bias != NULL) {
            a0 = bias[r];
            a1 = bias[r + 1];
            a2 = bias[r + 2];
            a3 = bias[r + 3];
        }
        const int16_t *xp = x;
        for (int32_t j = 0; j < blocks; j++, w += 16, xp += 4) {
            afkd_block4_s16(w, xp, &a0, &a1, &a2, &a3);
        }
        afkd_tail4_s16(w, xp, rem, &a0, &a1, &a2, &a3);
        w += 4 * rem;
        out[r] = afkd_finish16(a0, m16[r], ts[r], lo, hi, range);
        out[r + 1] = afkd_finish16(a1, m16[r + 1], ts[r + 1], lo, hi, range);
        out[r + 2] = afkd_finish16(a2, m16[r + 2], ts[r + 2], lo, hi, range);
        out[r + 3] = afkd_finish16(a3, m16[r + 3], ts[r + 3], lo, hi, range);
    }
    for (; r < rows; r++, w += cols) {
        const int32_t acc = (bias != NULL ? bias[r] : 0) + afkd_dot1_packed_s16(w, x, blocks, rem);
        out[r] = afkd_finish16(acc, m16[r], ts[r], lo, hi, range);
    }
}

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

static inline void afkd_dense_s16(const afkd_dense_s16_params *p, const int16_t *x, int16_t *out)
{
    if (p->bias64 == NULL) {
        if (p->act_min == -32768 && p->act_max == 32767) {
            afkd_dense_s16_narrow(p, x, out, AFKD_RANGE_FULL);
        } else if (p->act_min == 0 && p->act_max == 32767) {
            afkd_dense_s16_narrow(p, x, out, AFKD_RANGE_RELU);
        } else {
            afkd_dense_s16_narrow(p, x, out, AFKD_RANGE_ANY);
        }
    } else {
        afkd_dense_s16_wide(p, x, out);
    }
}

#endif /* AFKD_DENSE_S16_H */
