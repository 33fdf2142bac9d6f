/* afkd_pointwise_s16.c - pointwise (1x1) conv, one frame: see afkd_kernels.h. */
#include "afkd_dense_s16.h"

void afkd_pointwise_s16(const afkd_dense_s16_params *p, const int16_t *in, int16_t *out)
{
    afkd_dense_s16(p, in, out);
}

/* The exporter's int16-weight layout, which it checked when it chose this entry (afkd_kernels.h):
 * only the input's alignment is left to test before the assembly routine. */
void afkd_pointwise_s16_w16(const afkd_dense_s16_params *p, const int16_t *in, int16_t *out)
{
#if AFKD_DENSE16_ASM
    if (((uintptr_t)in & 3u) == 0u) {
        if (p->act_min == 0) {
            afkd_dense16_groups_relu(p->bias, p->weights16, in, out, p->multiplier32, p->rows >> 2, p->cols >> 2);
        } else {
            afkd_dense16_groups_full(p->bias, p->weights16, in, out, p->multiplier32, p->rows >> 2, p->cols >> 2);
        }
        return;
    }
#endif
    afkd_dense_s16(p, in, out);
}
