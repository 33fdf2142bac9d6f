/*
 * afkd_depthwise_s16.c - 16x8 causal dilated depthwise conv, one frame (TFLite
 * reference_integer_ops::DepthwiseConvPerChannel, int16 input, int64 bias):
 *   acc[c] = bias[c] + sum_k taps[k][c] * w[k][c]   (int64; the K <= 16 products sum to
 *            at most 2^26 in int32 before the int64 bias is added)
 *   out[c] = clamp(requantize64(acc[c], m[c], s[c]), act_min, act_max)
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_depthwise_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                        int16_t *out)
{
    const int32_t channels = p->channels;
    for (int32_t c = 0; c < channels; c++) {
        int32_t sum = 0;
        const int8_t *w = p->weights + c;
        for (int32_t k = 0; k < p->taps; k++) {
            sum += (int32_t)taps[k][c] * w[k * channels];
        }
        const int32_t y = afkd_requantize64(p->bias[c] + sum, p->multiplier[c], p->shift[c]);
        out[c] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
