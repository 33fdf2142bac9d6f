/* afkd_sigmoid_f32.c - float32 logistic 1 / (1 + exp(-x)). */
#include <math.h>

#include "afkd_kernels.h"

void afkd_sigmoid_f32(const float *in, float *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = 1.0f / (1.0f + expf(-in[i]));
    }
}
