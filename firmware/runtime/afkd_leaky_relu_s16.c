/*
 * afkd_leaky_relu_s16.c - TFLite LEAKY_RELU int16 (reference QuantizeLeakyRelu), n values:
 *   v = in + input_offset
 *   y = v >= 0 ? requant(v, m_identity, s_identity) : requant(v, m_alpha, s_alpha)
 *   out = clamp(y + output_offset, -32768, 32767)
 * A negative slope is a negative m_alpha. |v| <= 2^16, so for left shifts <= 13 (M < 2^13;
 * the usual case is M ~ 1) |v * 2^left_shift| < 2^30 and the prepared 32-bit requant
 * (afkd_requant.h) is exact; larger shifts take the general loop.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* The 16x8 loop's prepared constants (afkd_requant.h) for both branches. */
typedef struct {
    int32_t m_pos, up_pos, down_pos, half_pos;
    int32_t m_neg, up_neg, down_neg, half_neg, mask_neg;
} afkd_leaky16_loop;

/* same_scale and non_negative_slope are constants at every call site (see below). */
__attribute__((always_inline)) static inline void afkd_leaky16_run(const afkd_leaky16_loop *q, const int16_t *in,
                                                                  int16_t *out, int32_t n, int same_scale,
                                                                  int non_negative_slope)
{
    const int32_t m_pos = q->m_pos, up_pos = q->up_pos, down_pos = q->down_pos, half_pos = q->half_pos;
    const int32_t m_neg = q->m_neg, up_neg = q->up_neg, down_neg = q->down_neg, half_neg = q->half_neg;
    const int32_t mask_neg = q->mask_neg;
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = in[i];
        int32_t y;
        if (v >= 0) {
            y = same_scale ? v : (afkd_smmulr(afkd_shl(v, up_pos), m_pos) + half_pos) >> down_pos;
        } else {
            const int32_t high = afkd_smmulr(afkd_shl(v, up_neg), m_neg);
            y = non_negative_slope ? (high + (half_neg - 1)) >> down_neg
                                   : (high + half_neg + ((high >> 31) & mask_neg)) >> down_neg;
        }
        out[i] = (int16_t)afkd_saturate16(y);
    }
}

void afkd_leaky_relu_s16(const afkd_leaky_relu_params *p, const int16_t *in, int16_t *out, int32_t n)
{
    const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
    if (input_offset != 0 || output_offset != 0 || p->shift_identity > 13 || p->shift_alpha > 13) {
        for (int32_t i = 0; i < n; i++) {
            const int32_t v = in[i] + input_offset;
            const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_identity, p->shift_identity)
                                     : afkd_requantize(v, p->multiplier_alpha, p->shift_alpha);
            out[i] = (int16_t)afkd_clamp(y + output_offset, -32768, 32767);
        }
        return;
    }
    /* 16x8 (zero points 0): scalars in locals, so the loop keeps them in registers. For
     * v >= 0 the product is >= 0 (m_identity > 0), so the positive branch needs no sign fix. */
    const afkd_requant_prepared identity = afkd_requant_prepare(p->multiplier_identity, p->shift_identity);
    const afkd_requant_prepared alpha = afkd_requant_prepare(p->multiplier_alpha, p->shift_alpha);
    const afkd_leaky16_loop q = {identity.multiplier, identity.doubling_shift, identity.right_shift, identity.half,
                                 alpha.multiplier, alpha.doubling_shift, alpha.right_shift, alpha.half,
                                 alpha.sign_mask};
    /* The converter often gives the output the input's scale: then requant(v) = v exactly for
     * v >= 0 (DoublingHighMul(2v, 2^30) = v), and only negative values are scaled. */
    const int same_scale = p->multiplier_identity == (1 << 30) && p->shift_identity == 1;
    /* A slope >= 0 makes the negative branch's product <= 0; with a right shift, its rounding
     * (ties away from zero) is then (high + half - 1) >> down, one AND and ADD fewer. */
    const int non_negative_slope = p->multiplier_alpha >= 0 && alpha.right_shift >= 1;
    if (same_scale && non_negative_slope) {
        afkd_leaky16_run(&q, in, out, n, 1, 1);
    } else if (same_scale) {
        afkd_leaky16_run(&q, in, out, n, 1, 0);
    } else if (non_negative_slope) {
        afkd_leaky16_run(&q, in, out, n, 0, 1);
    } else {
        afkd_leaky16_run(&q, in, out, n, 0, 0);
    }
}
