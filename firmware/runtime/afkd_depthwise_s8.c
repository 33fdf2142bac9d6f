/*
 * afkd_depthwise_s8.c - causal dilated depthwise conv, one frame (TFLite
 * reference_integer_ops::DepthwiseConvPerChannel, depth multiplier 1):
 *   acc[c] = bias[c] + sum_k taps[k][c] * w[k][c]   (input offset folded into bias)
 *   out[c] = clamp(requant(acc[c], m[c], s[c]) + output_offset, act_min, act_max)
 * |acc| <= K * 2^14 + |bias|: no int32 overflow.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

/*
 * K = 3 and every shift negative (requant_32bit >= AFKD_REQUANT_32BIT_RIGHT): one branch-free
 * rounding for all channels. full (a constant at each call) is the right-shift form whose clamp
 * is the int8 range itself: one SSAT and no clamp bounds to keep in registers (GCC spilled them
 * to the stack in the clamped loop).
 */
__attribute__((always_inline)) static inline void afkd_depthwise3_right_s8(const afkd_depthwise_s8_params *p,
                                                                          const int8_t *const *taps, int8_t *out,
                                                                          int full)
{
    /* Parameters in locals: the int8_t stores may alias anything. */
    const int32_t channels = p->channels, output_offset = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max;
    const int32_t *const bias = p->bias, *const multiplier = p->multiplier, *const shift = p->shift;
    const int8_t *const w0 = p->weights, *const w1 = w0 + channels, *const w2 = w1 + channels;
    const int8_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
    for (int32_t c = 0; c < channels; c++) {
        const int32_t acc = bias[c] + t0[c] * w0[c] + t1[c] * w1[c] + t2[c] * w2[c];
        const int32_t y = afkd_requant_right(acc, multiplier[c], -shift[c]) + output_offset;
        out[c] = (int8_t)(full ? afkd_saturate8(y) : afkd_clamp(y, act_min, act_max));
    }
}

void afkd_depthwise_s8(const afkd_depthwise_s8_params *p, const int8_t *const *taps, int8_t *out)
{
    /* Parameters in locals: the int8_t stores below may alias anything, and would otherwise
     * force a reload of every p-> field per channel. */
    const int32_t channels = p->channels, taps_count = p->taps;
    const int8_t *const weights = p->weights;
    const int32_t *const bias = p->bias, *const multiplier = p->multiplier, *const shift = p->shift;
    const int32_t output_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    if (taps_count == 3 && p->requant_32bit == AFKD_REQUANT_32BIT_RIGHT_FULL) {
        afkd_depthwise3_right_s8(p, taps, out, 1);
        return;
    }
    if (taps_count == 3 && p->requant_32bit == AFKD_REQUANT_32BIT_RIGHT) {
        afkd_depthwise3_right_s8(p, taps, out, 0);
        return;
    }
    if (taps_count == 3 && p->requant_32bit) {
        /* The exporter proved (|bias| + 3 * 2^14) * 2^max(shift, 0) < 2^30: the 32-bit
         * prepared requant of afkd_requant.h (SMMULR of the doubled value, then
         * RoundingDivideByPOT as (h + 2^(e-1) - [h < 0]) >> e) gives the same bits. */
        const int8_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
        const int8_t *const w1 = weights + channels, *const w2 = weights + 2 * channels;
        for (int32_t c = 0; c < channels; c++) {
            const int32_t acc = bias[c] + t0[c] * weights[c] + t1[c] * w1[c] + t2[c] * w2[c];
            const int32_t s = shift[c];
            int32_t y;
            if (s > 0) {
                y = afkd_smmulr(afkd_shl(acc, s + 1), multiplier[c]);
            } else {
                const int32_t high = afkd_smmulr(afkd_shl(acc, 1), multiplier[c]);
                y = s < 0 ? (high + (1 << (-s - 1)) + (high >> 31)) >> -s : high;
            }
            out[c] = (int8_t)afkd_clamp(y + output_offset, act_min, act_max);
        }
        return;
    }
    if (taps_count == 3) { /* the network's kernel size: taps unrolled */
        const int8_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
        const int8_t *const w1 = weights + channels, *const w2 = weights + 2 * channels;
        for (int32_t c = 0; c < channels; c++) {
            const int32_t acc = bias[c] + t0[c] * weights[c] + t1[c] * w1[c] + t2[c] * w2[c];
            const int32_t y = afkd_requantize(acc, multiplier[c], shift[c]) + output_offset;
            out[c] = (int8_t)afkd_clamp(y, act_min, act_max);
        }
        return;
    }
    for (int32_t c = 0; c < channels; c++) {
        int32_t acc = bias[c];
        for (int32_t k = 0; k < taps_count; k++) {
            acc += (int32_t)taps[k][c] * weights[k * channels + c];
        }
        const int32_t y = afkd_requantize(acc, multiplier[c], shift[c]) + output_offset;
        out[c] = (int8_t)afkd_clamp(y, act_min, act_max);
    }
}
