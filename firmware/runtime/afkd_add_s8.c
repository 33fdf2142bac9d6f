/*
 * afkd_add_s8.c - TFLite ADD int8_t (reference AddElementwise), two inputs with their own
 * quantization: both are moved onto a common fine grid (shifted left by left_shift, then
 * scaled by in_scale / (2 * max_in_scale) <= 1/2), added, and rescaled to the output.
 *   |(x + offset) << left_shift| <= 2^(8+20) (int8) or 2^(16+15) (int16): fits int32, and
 *   each scaled term is at most half of that, so the sum fits too.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_add_s8(const afkd_add_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t a_shifted = (int32_t)((uint32_t)(a[i] + p->input1_offset) << p->left_shift);
        const int32_t b_shifted = (int32_t)((uint32_t)(b[i] + p->input2_offset) << p->left_shift);
        const int32_t a_scaled = afkd_requantize(a_shifted, p->input1_multiplier, p->input1_shift);
        const int32_t b_scaled = afkd_requantize(b_shifted, p->input2_multiplier, p->input2_shift);
        const int32_t y = afkd_requantize(a_scaled + b_scaled, p->output_multiplier,
                                          p->output_shift) + p->output_offset;
        out[i] = (int8_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
