/* afkd_prelu_f32.c - float32 PReLU, one frame: out = x >= 0 ? x : alpha * x. */
#include "afkd_kernels.h"

void afkd_prelu_f32(const afkd_prelu_f32_params *p, const float *in, float *out)
{
    const int32_t alpha_step = p->alpha_per_channel ? 1 : 0;
    const float *alpha = p->alpha;
    for (int32_t c = 0; c < p->channels; c++, alpha += alpha_step) {
        out[c] = in[c] >= 0.0f ? in[c] : *alpha * in[c];
    }
}
