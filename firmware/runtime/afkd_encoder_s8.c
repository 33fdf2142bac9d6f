/*
 * afkd_encoder_s8.c - encoder conv1d (1 input channel, kernel L, stride S), one frame:
 * a dense product of the [N][L] weights with the current L-sample window. The stride is
 * the caller's: it advances the window by S samples per frame. See afkd_kernels.h.
 */
#include "afkd_dense_s8.h"

void afkd_encoder_s8(const afkd_dense_s8_params *p, const int8_t *window, int8_t *out)
{
    afkd_dense_s8(p, window, out);
}
