/*
 * afkd_conv_s16.c - TFLite CONV_2D (1,K) over a padded int16 window (afkd_kernels.h): one dense
 * product per output position, so every position runs the pointwise kernel's loops (and its
 * Cortex-M4 paths) on the K*Cin contiguous values it reads.
 */
#include "afkd_kernels.h"

void afkd_conv_s16(const afkd_conv_s16_params *p, const int16_t *padded, int16_t *out)
{
    const int32_t rows = p->dense.rows;
    for (int32_t j = 0; j < p->out_steps; j++) {
        afkd_pointwise_s16(&p->dense, padded + j * p->step_values, out + j * rows);
    }
}
