/* afkd_pointwise_f32.c - pointwise (1x1) conv, one frame: see afkd_kernels.h. */
#include "afkd_dense_f32.h"

void afkd_pointwise_f32(const afkd_dense_f32_params *p, const float *in, float *out)
{
    afkd_dense_f32(p, in, out);
}
