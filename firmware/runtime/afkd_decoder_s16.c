/*
 * afkd_decoder_s16.c - 16x8 streaming transpose conv1d (N channels -> 1, kernel L,
 * stride S): TFLite's reference TRANSPOSE_CONV with int16 input accumulates in an int64
 * scratch, adds the int64 bias once per output position and uses the int64 requant.
 *   tail[k] += sum_c x[c] * w[k][c]   (input zero point is 0 in 16x8)
 */
#include <string.h>

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_decoder_s16(const afkd_decoder_s16_params *p, const int16_t *frame, int64_t *tail,
                      int16_t *out)
{
    const int32_t n = p->channels, kernel = p->kernel, stride = p->stride;
    int32_t k = 0;
    for (; k + 2 <= kernel; k += 2) {
        afkd_dot2_s16(p->weights + k * n, p->weights + (k + 1) * n, frame, n, &tail[k],
                      &tail[k + 1]);
    }
    if (k < kernel) {
        int64_t unused = 0;
        afkd_dot2_s16(p->weights + k * n, p->weights + k * n, frame, n, &tail[k], &unused);
    }
    for (int32_t s = 0; s < stride; s++) {
        const int32_t y = afkd_requantize64(tail[s] + p->bias, p->multiplier, p->shift);
        out[s] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
    memmove(tail, tail + stride, (size_t)(kernel - stride) * sizeof *tail);
    memset(tail + (kernel - stride), 0, (size_t)stride * sizeof *tail);
}
