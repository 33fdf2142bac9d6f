/*
 * afkd_prelu_s8.c - TFLite PRELU int8 (reference BroadcastPrelu4DSlow), one frame:
 *   v = in + input_offset                                   (|v| <= 255)
 *   y = v >= 0 ? requant(v, m_pos, s_pos) : requant(v * alpha, m_neg, s_neg)
 *   out = clamp(y + output_offset, -128, 127)
 * |v * alpha| <= 255 * 255: no overflow. TFLite clamps to the type range (no fused act).
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* One value of the exporter's linear form (afkd_kernels.h): an MLA picked by the side. */
#define AFKD_PRELU_LINEAR_SUM(x) \
    ((x) >= threshold ? (x) * k_pos + c_pos : (x) * k_neg + c_neg)

/* The linear form: 10 instructions a value (LDRSB, CMP, ITE and two conditional MLAs, ASR,
 * SSAT, STRB and the loop) instead of 14 to 21. The constants are held in locals: the int8
 * stores could alias *p, and GCC would otherwise reload them every value. (A loop with the
 * shift fixed at 16 and folded into the SSAT came out longer: GCC then split the MLAs.) */
static void afkd_prelu_s8_linear(const afkd_prelu_s8_params *p, const int8_t *in, int8_t *out)
{
    const int32_t channels = p->channels, shift = p->linear_shift, threshold = p->linear_threshold;
    const int32_t k_pos = p->linear_k_pos, c_pos = p->linear_c_pos;
    const int32_t k_neg = p->linear_k_neg, c_neg = p->linear_c_neg;
    for (int32_t c = 0; c < channels; c++) {
        const int32_t x = in[c];
        out[c] = (int8_t)afkd_saturate8(AFKD_PRELU_LINEAR_SUM(x) >> shift);
    }
}

#undef AFKD_PRELU_LINEAR_SUM

void afkd_prelu_s8(const afkd_prelu_s8_params *p, const int8_t *in, int8_t *out)
{
    if (p->linear_shift > 0) {
        afkd_prelu_s8_linear(p, in, out);
        return;
    }
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
