/* afkd_pointwise_s16.c - pointwise (1x1) conv, one frame: see afkd_kernels.h. */
#include "afkd_dense_s16.h"

void afkd_pointwise_s16(const afkd_dense_s16_params *p, const int16_t *in, int16_t *out)
{
    afkd_dense_s16(p, in, out);
}
