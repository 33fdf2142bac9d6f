/*
 * afkd_encoder_s16.c - encoder conv1d (1 input channel, kernel L, stride S), one frame:
 * a dense product of the [N][L] weights with the current L-sample window, i.e. exactly the
 * pointwise kernel with cols = L, so it is that function (one copy of the dense code in
 * flash). The stride is the caller's: it advances the window by S samples per frame.
 */
#include "afkd_kernels.h"

void afkd_encoder_s16(const afkd_dense_s16_params *p, const int16_t *window, int16_t *out)
{
    afkd_pointwise_s16(p, window, out);
}

void afkd_encoder_s16_w16(const afkd_dense_s16_params *p, const int16_t *window, int16_t *out)
{
    afkd_pointwise_s16_w16(p, window, out);
}
