/* afkd_decoder_f32.c - float32 streaming transpose conv1d (overlap-add), see afkd_kernels.h. */
#include <string.h>

#include "afkd_dense_f32.h"

void afkd_decoder_f32(const afkd_decoder_f32_params *p, const float *frame, float *tail,
                      float *out)
{
    const int32_t n = p->channels, kernel = p->kernel, stride = p->stride;
    for (int32_t k = 0; k < kernel; k++) {
        const float *w = p->weights + k * n;
        float acc = 0.0f;
        for (int32_t c = 0; c < n; c++) {
            acc += w[c] * frame[c];
        }
        tail[k] += acc;
    }
    for (int32_t s = 0; s < stride; s++) {
        out[s] = afkd_clampf(tail[s] + p->bias, p->act_min, p->act_max);
    }
    memmove(tail, tail + stride, (size_t)(kernel - stride) * sizeof *tail);
    memset(tail + (kernel - stride), 0, (size_t)stride * sizeof *tail);
}
