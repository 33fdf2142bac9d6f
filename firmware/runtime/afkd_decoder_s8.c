/*
 * afkd_decoder_s8.c - streaming transpose conv1d (N channels -> 1, kernel L, stride S).
 * TFLite's reference TRANSPOSE_CONV scatters (x + input_offset) * w into an int32 scratch
 * output, then adds the bias once per output position and requantizes. Integer sums are
 * order-free, so overlap-adding frame by frame into a tail of L int32 gives the same sums:
 *   tail[k] += tap_offset[k] + sum_c x[c] * w[k][c]    (tap_offset = input_offset*sum_c w)
 * An output sample gets ceil(L/S) frames' contributions, each |.| <= N * 2^15: no overflow.
 */
#include <string.h>

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_decoder_s8(const afkd_decoder_s8_params *p, const int8_t *frame, int32_t *tail,
                     int8_t *out)
{
    const int32_t n = p->channels, kernel = p->kernel, stride = p->stride;
    const int8_t *w = p->weights;
    int32_t k = 0;
    for (; k + 3 <= kernel; k += 3, w += 3 * n) {
        int32_t acc0 = p->tap_offset[k], acc1 = p->tap_offset[k + 1], acc2 = p->tap_offset[k + 2];
        afkd_dot3_s8(w, w + n, w + 2 * n, frame, n, &acc0, &acc1, &acc2);
        tail[k] += acc0;
        tail[k + 1] += acc1;
        tail[k + 2] += acc2;
    }
    for (; k < kernel; k++, w += n) {
        tail[k] += p->tap_offset[k] + afkd_dot_s8(w, frame, n);
    }
    for (int32_t s = 0; s < stride; s++) {
        const int32_t y = afkd_requantize(tail[s] + p->bias, p->multiplier, p->shift);
        out[s] = (int8_t)afkd_clamp(y + p->output_offset, p->act_min, p->act_max);
    }
    memmove(tail, tail + stride, (size_t)(kernel - stride) * sizeof *tail);
    memset(tail + (kernel - stride), 0, (size_t)stride * sizeof *tail);
}
