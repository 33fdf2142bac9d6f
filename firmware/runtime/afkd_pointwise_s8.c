/* afkd_pointwise_s8.c - pointwise (1x1) conv, one frame: see afkd_kernels.h. */
#include "afkd_dense_s8.h"

void afkd_pointwise_s8(const afkd_dense_s8_params *p, const int8_t *in, int8_t *out)
{
    afkd_dense_s8(p, in, out);
}
