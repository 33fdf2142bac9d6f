/*
 * afkd_requantize_s8.c - TFLite QUANTIZE int8_t -> int8_t (reference Requantize):
 *   out = clamp(requant(in + input_offset, m, s) + output_offset, -128, 127)
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_requantize_s8(const afkd_requantize_params *p, const int8_t *in, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t y = afkd_requantize(in[i] + p->input_offset, p->multiplier, p->shift);
        out[i] = (int8_t)afkd_clamp(y + p->output_offset, -128, 127);
    }
}
