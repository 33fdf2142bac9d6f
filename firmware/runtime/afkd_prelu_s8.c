/*
 * afkd_prelu_s8.c - TFLite PRELU int8 (reference BroadcastPrelu4DSlow), one frame:
 *   v = in + input_offset                                   (|v| <= 255)
 *   y = v >= 0 ? requant(v, m_pos, s_pos) : requant(v * alpha, m_neg, s_neg)
 *   out = clamp(y + output_offset, -128, 127)
 * |v * alpha| <= 255 * 255: no overflow. TFLite clamps to the type range (no fused act).
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_prelu_s8(const afkd_prelu_s8_params *p, const int8_t *in, int8_t *out)
{
    const int32_t alpha_step = p->alpha_per_channel ? 1 : 0;
    const int16_t *alpha = p->alpha;
    for (int32_t c = 0; c < p->channels; c++, alpha += alpha_step) {
        const int32_t v = in[c] + p->input_offset;
        const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_pos, p->shift_pos)
                                 : afkd_requantize(v * *alpha, p->multiplier_neg, p->shift_neg);
        out[c] = (int8_t)afkd_clamp(y + p->output_offset, -128, 127);
    }
}
