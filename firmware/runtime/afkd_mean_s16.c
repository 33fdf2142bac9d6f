/*
 * afkd_mean_s16.c - TFLite MEAN int16 of a whole window to one value (TFLM reference
 * QuantizedMeanOrSum): an int32 sum, the zero points, one requantization whose multiplier
 * holds the 1/count (afkd_kernels.h). |sum| <= count * 2^16.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_mean_s16(const afkd_mean_params *p, const int16_t *in, int16_t *out)
{
    int32_t sum = 0;
    for (int32_t i = 0; i < p->count; i++) {
        sum += in[i];
    }
    const int32_t shifted = sum - p->input_zero_point * p->count;
    const int32_t y = afkd_requantize(shifted, p->multiplier, p->shift) + p->output_zero_point;
    out[0] = (int16_t)afkd_clamp(y, -32768, 32767);
}
