/*
 * afkd_leaky_relu_s8.c - TFLite LEAKY_RELU int8 (reference QuantizeLeakyRelu), n values:
 *   v = in + input_offset
 *   y = v >= 0 ? requant(v, m_identity, s_identity) : requant(v, m_alpha, s_alpha)
 *   out = clamp(y + output_offset, -128, 127)
 * A negative slope is a negative m_alpha. |v| <= 2^8, so for left shifts <= 21 (M < 2^21;
 * the usual case is M ~ 1) |v * 2^left_shift| < 2^30 and the prepared 32-bit requant
 * (afkd_requant.h) is exact; larger shifts take the general loop.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_leaky_relu_s8(const afkd_leaky_relu_params *p, const int8_t *in, int8_t *out, int32_t n)
{
    const afkd_requant_prepared identity = afkd_requant_prepare(p->multiplier_identity, p->shift_identity);
    const afkd_requant_prepared alpha = afkd_requant_prepare(p->multiplier_alpha, p->shift_alpha);
    const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
    if (p->shift_identity > 21 || p->shift_alpha > 21) {
        for (int32_t i = 0; i < n; i++) {
            const int32_t v = in[i] + input_offset;
            const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_identity, p->shift_identity)
                                     : afkd_requantize(v, p->multiplier_alpha, p->shift_alpha);
            out[i] = (int8_t)afkd_clamp(y + output_offset, -128, 127);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = in[i] + input_offset;
        const int32_t y = afkd_requant_apply(v >= 0 ? &identity : &alpha, v);
        out[i] = (int8_t)afkd_clamp(y + output_offset, -128, 127);
    }
}
