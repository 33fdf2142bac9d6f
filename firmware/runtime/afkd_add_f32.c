/* afkd_add_f32.c - float32 element-wise add with a fused clamp. */
#include "afkd_dense_f32.h"

void afkd_add_f32(const float *a, const float *b, float *out, int32_t n, float act_min,
                  float act_max)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = afkd_clampf(a[i] + b[i], act_min, act_max);
    }
}
