/*
 * afkd_depthwise_s16.c - 16x8 causal dilated depthwise conv, one frame (TFLite
 * reference_integer_ops::DepthwiseConvPerChannel, int16 input, int64 bias):
 *   acc[c] = bias[c] + sum_k taps[k][c] * w[k][c]
 *   out[c] = clamp((acc[c] * m16[c] + 2^(ts[c]-1)) >> ts[c], act_min, act_max)
 * The K <= 16 products sum to at most 2^26. With bias64 NULL the exporter proved
 * |bias| + K * 2^22 < 2^31, so int32 is exact; otherwise the int64 bias is added as TFLite does.
 */
#include <stddef.h>

#include "afkd_kernels.h"
#include "afkd_requant.h"

/* K = 3 with int32 sums; has_bias is a constant at both call sites, so each gets a loop
 * without the NULL test. */
static inline void afkd_depthwise3_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                                       int16_t *out, int has_bias)
{
    /* Parameters in locals: the int16_t stores may alias them. */
    const int32_t channels = p->channels;
    const int8_t *const w0 = p->weights, *const w1 = w0 + channels, *const w2 = w1 + channels;
    const int16_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
    const int32_t *const bias = p->bias;
    const int16_t *const m16 = p->multiplier;
    const uint8_t *const ts = p->shift;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t c = 0; c < channels; c++) {
        const int32_t acc = (has_bias ? bias[c] : 0) + t0[c] * w0[c] + t1[c] * w1[c] + t2[c] * w2[c];
        out[c] = (int16_t)afkd_clamp(afkd_requantize16(acc, m16[c], ts[c]), lo, hi);
    }
}

void afkd_depthwise_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                        int16_t *out)
{
    if (p->bias64 == NULL && p->taps == 3) { /* the network's kernel size */
        if (p->bias != NULL) {
            afkd_depthwise3_s16(p, taps, out, 1);
        } else {
            afkd_depthwise3_s16(p, taps, out, 0);
        }
        return;
    }
    const int32_t channels = p->channels, taps_count = p->taps;
    for (int32_t c = 0; c < channels; c++) {
        int32_t sum = 0;
        for (int32_t k = 0; k < taps_count; k++) {
            sum += (int32_t)taps[k][c] * p->weights[k * channels + c];
        }
        int32_t y;
        if (p->bias64 != NULL) {
            y = afkd_requantize16_wide(p->bias64[c] + sum, p->multiplier[c], p->shift[c]);
        } else {
            y = afkd_requantize16((p->bias != NULL ? p->bias[c] : 0) + sum, p->multiplier[c], p->shift[c]);
        }
        out[c] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
