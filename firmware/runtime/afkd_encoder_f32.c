/*
 * afkd_encoder_f32.c - encoder conv1d (1 input channel, kernel L, stride S), one frame:
 * a dense product of the [N][L] weights with the current L-sample window. The stride is
 * the caller's: it advances the window by S samples per frame. See afkd_kernels.h.
 */
#include "afkd_dense_f32.h"

void afkd_encoder_f32(const afkd_dense_f32_params *p, const float *window, float *out)
{
    afkd_dense_f32(p, window, out);
}
