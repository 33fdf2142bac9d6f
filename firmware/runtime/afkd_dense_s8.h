/*
 * afkd_dense_s8.h - internal: the int8 matrix-vector product behind the pointwise conv and
 * the encoder (TFLite reference_integer_ops::ConvPerChannel for a 1-wide output).
 *   acc[r] = bias[r] + sum_k w[r][k] * x[k]        (bias already holds input_offset terms)
 *   out[r] = clamp(requant(acc[r], m[r], s[r]) + output_offset, act_min, act_max)
 * No overflow: |w*x| <= 2^14 and cols <= 2^16 give |sum| <= 2^30, and TFLite keeps the
 * same int32 accumulator with the same terms, so any overflow would be TFLite's too.
 */
#ifndef AFKD_DENSE_S8_H
#define AFKD_DENSE_S8_H

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* The per-row output stage, with the parameters held in locals: stores through int8_t
 * pointers may alias anything, so reading p-> fields here would reload them every row. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t output_offset, act_min, act_max;
} afkd_out_stage_s8;

static inline int8_t afkd_finish_s8(const afkd_out_stage_s8 *o, int32_t r, int32_t acc)
{
    const int32_t y = afkd_requantize(acc, o->multiplier[r], o->shift[r]) + o->output_offset;
    return (int8_t)afkd_clamp(y, o->act_min, o->act_max);
}

static inline void afkd_dense_s8(const afkd_dense_s8_params *p, const int8_t *x, int8_t *out)
{
    const afkd_out_stage_s8 o = {p->multiplier, p->shift, p->output_offset, p->act_min,
                                 p->act_max};
    const int32_t cols = p->cols, rows = p->rows;
    const int8_t *w = p->weights;
    const int32_t *bias = p->bias;
    int32_t r = 0;
    for (; r + 3 <= rows; r += 3, w += 3 * cols) {
        int32_t acc0 = bias[r], acc1 = bias[r + 1], acc2 = bias[r + 2];
        afkd_dot3_s8(w, w + cols, w + 2 * cols, x, cols, &acc0, &acc1, &acc2);
        out[r] = afkd_finish_s8(&o, r, acc0);
        out[r + 1] = afkd_finish_s8(&o, r + 1, acc1);
        out[r + 2] = afkd_finish_s8(&o, r + 2, acc2);
    }
    for (; r < rows; r++, w += cols) {
        out[r] = afkd_finish_s8(&o, r, bias[r] + afkd_dot_s8(w, x, cols));
    }
}

#endif /* AFKD_DENSE_S8_H */
