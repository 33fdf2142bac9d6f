/*
 * afkd_requantize_s16.c - TFLite QUANTIZE int16_t -> int16_t (reference Requantize):
 *   out = clamp(requant(in + input_offset, m, s) + output_offset, -32768, 32767)
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_requantize_s16(const afkd_requantize_params *p, const int16_t *in, int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t y = afkd_requantize(in[i] + p->input_offset, p->multiplier, p->shift);
        out[i] = (int16_t)afkd_clamp(y + p->output_offset, -32768, 32767);
    }
}
