/*
 * afkd_leaky_relu_s16.c - TFLite LEAKY_RELU int16 (reference QuantizeLeakyRelu), n values:
 *   v = in + input_offset
 *   y = v >= 0 ? requant(v, m_identity, s_identity) : requant(v, m_alpha, s_alpha)
 *   out = clamp(y + output_offset, -32768, 32767)
 * |v| < 2^17 and both multipliers are below 2^31 in magnitude, so the 64-bit product of
 * the doubling high multiply cannot overflow; a negative slope is a negative m_alpha.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_leaky_relu_s16(const afkd_leaky_relu_params *p, const int16_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = in[i] + p->input_offset;
        const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_identity, p->shift_identity)
                                 : afkd_requantize(v, p->multiplier_alpha, p->shift_alpha);
        out[i] = (int16_t)afkd_clamp(y + p->output_offset, -32768, 32767);
    }
}
