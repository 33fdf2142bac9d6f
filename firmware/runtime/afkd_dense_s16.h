/*
 * afkd_dense_s16.h - internal: the 16x8 matrix-vector product behind the pointwise conv and
 * the encoder (TFLite reference_integer_ops::ConvPerChannel, int16 input, int64 bias):
 *   acc[r] = bias[r] + sum_k w[r][k] * x[k]   in int64 (exact; |acc| < 2^47 for
 *            cols <= 2^24 and TFLite-sized biases)
 *   out[r] = clamp(requantize64(acc[r], m[r], s[r]), act_min, act_max)   (zero point 0)
 */
#ifndef AFKD_DENSE_S16_H
#define AFKD_DENSE_S16_H

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

static inline int16_t afkd_finish_s16(const afkd_dense_s16_params *p, int32_t r, int64_t acc)
{
    const int32_t y = afkd_requantize64(acc, p->multiplier[r], p->shift[r]);
    return (int16_t)afkd_clamp(y, p->act_min, p->act_max);
}

static inline void afkd_dense_s16(const afkd_dense_s16_params *p, const int16_t *x, int16_t *out)
{
    const int32_t cols = p->cols;
    int32_t r = 0;
    for (; r + 2 <= p->rows; r += 2) {
        int64_t acc0 = p->bias[r], acc1 = p->bias[r + 1];
        afkd_dot2_s16(p->weights + r * cols, p->weights + (r + 1) * cols, x, cols, &acc0, &acc1);
        out[r] = afkd_finish_s16(p, r, acc0);
        out[r + 1] = afkd_finish_s16(p, r + 1, acc1);
    }
    if (r < p->rows) {
        int64_t acc0 = p->bias[r], unused = 0;
        afkd_dot2_s16(p->weights + r * cols, p->weights + r * cols, x, cols, &acc0, &unused);
        out[r] = afkd_finish_s16(p, r, acc0);
    }
}

#endif /* AFKD_DENSE_S16_H */
