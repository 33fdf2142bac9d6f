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
    const int32_t alpha_step = p->alpha_per_channel ? 1 : 0, channels = p->channels;
    const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
    const int16_t *alpha = p->alpha;
    if (p->shift_pos > 13 || p->shift_neg > 13) { /* beyond the prepared requant's bound */
        for (int32_t c = 0; c < channels; c++, alpha += alpha_step) {
            const int32_t v = in[c] + input_offset;
            const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_pos, p->shift_pos)
                                     : afkd_requantize(v * *alpha, p->multiplier_neg, p->shift_neg);
            out[c] = (int8_t)afkd_clamp(y + output_offset, -128, 127);
        }
        return;
    }
    /* |v| <= 255 and |v * alpha| < 2^16, so with left shifts <= 13 both requants stay below
     * 2^30 and the prepared 32-bit form is exact (afkd_requant.h). m_pos > 0 and v >= 0 give
     * a non-negative product: the positive branch needs no sign fix. */
    const afkd_requant_prepared pos = afkd_requant_prepare(p->multiplier_pos, p->shift_pos);
    const afkd_requant_prepared neg = afkd_requant_prepare(p->multiplier_neg, p->shift_neg);
    for (int32_t c = 0; c < channels; c++, alpha += alpha_step) {
        const int32_t v = in[c] + input_offset;
        int32_t y;
        if (v >= 0) {
            y = (afkd_smmulr(afkd_shl(v, pos.doubling_shift), pos.multiplier) + pos.half) >> pos.right_shift;
        } else {
            y = afkd_requant_apply(&neg, v * *alpha);
        }
        out[c] = (int8_t)afkd_saturate8(y + output_offset);
    }
}
