/*
 * afkd_encoder_s16.c - encoder conv1d (1 input channel, kernel L, stride S), one frame:
 * a dense product of the [N][L] weights with the current L-sample window. The stride is
 * the caller's: it advances the window by S samples per frame. See afkd_kernels.h.
 */
#include "afkd_dense_s16.h"

void afkd_encoder_s16(const afkd_dense_s16_params *p, const int16_t *window, int16_t *out)
{
    afkd_dense_s16(p, window, out);
}
