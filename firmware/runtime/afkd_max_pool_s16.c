/* afkd_max_pool_s16.c - TFLite MAX_POOL_2D int16 (reference MaxPool) over a window: afkd_kernels.h. */
#include "afkd_kernels.h"

void afkd_max_pool_s16(const afkd_max_pool_params *p, const int16_t *in, int16_t *out)
{
    const int32_t channels = p->channels;
    for (int32_t j = 0; j < p->out_steps; j++) {
        const int16_t *first = in + j * p->stride * channels;
        for (int32_t c = 0; c < channels; c++) {
            int32_t best = first[c];
            for (int32_t k = 1; k < p->pool; k++) {
                const int32_t v = first[k * channels + c];
                best = v > best ? v : best;
            }
            best = best < p->act_min ? p->act_min : (best > p->act_max ? p->act_max : best);
            out[j * channels + c] = (int16_t)best;
        }
    }
}
