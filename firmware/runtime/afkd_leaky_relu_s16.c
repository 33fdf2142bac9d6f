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
    const int32_t m_pos = identity.multiplier, up_pos = identity.doubling_shift;
    const int32_t down_pos = identity.right_shift, half_pos = identity.half;
    const int32_t m_neg = alpha.multiplier, up_neg = alpha.doubling_shift;
    const int32_t down_neg = alpha.right_shift, half_neg = alpha.half, mask_neg = alpha.sign_mask;
    if (p->multiplier_identity == (1 << 30) && p->shift_identity == 1) {
        /* The converter often gives the output the input's scale: then requant(v) = v exactly
         * for v >= 0 (DoublingHighMul(2v, 2^30) = v), and only negative values are scaled. */
        for (int32_t i = 0; i < n; i++) {
            const int32_t v = in[i];
            if (v >= 0) {
                out[i] = (int16_t)v;
            } else {
                const int32_t high = afkd_smmulr(afkd_shl(v, up_neg), m_neg);
                out[i] = (int16_t)afkd_saturate16((high + half_neg + ((high >> 31) & mask_neg)) >> down_neg);
            }
        }
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = in[i];
        int32_t y;
        if (v >= 0) {
            y = (afkd_smmulr(afkd_shl(v, up_pos), m_pos) + half_pos) >> down_pos;
        } else {
            const int32_t high = afkd_smmulr(afkd_shl(v, up_neg), m_neg);
            y = (high + half_neg + ((high >> 31) & mask_neg)) >> down_neg;
        }
        out[i] = (int16_t)afkd_saturate16(y);
    }
}
