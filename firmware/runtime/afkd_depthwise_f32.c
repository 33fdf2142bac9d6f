/* afkd_depthwise_f32.c - float32 causal dilated depthwise conv, one frame. */
#include "afkd_dense_f32.h"

void afkd_depthwise_f32(const afkd_depthwise_f32_params *p, const float *const *taps, float *out)
{
    const int32_t channels = p->channels;
    for (int32_t c = 0; c < channels; c++) {
        float acc = p->bias != 0 ? p->bias[c] : 0.0f;
        for (int32_t k = 0; k < p->taps; k++) {
            acc += taps[k][c] * p->weights[k * channels + c];
        }
        out[c] = afkd_clampf(acc, p->act_min, p->act_max);
    }
}
