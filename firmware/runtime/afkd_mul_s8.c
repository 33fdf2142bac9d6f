/*
 * afkd_mul_s8.c - TFLite MUL int8_t (reference MulElementwise):
 *   out = clamp(requant((a + o1) * (b + o2), m, s) + output_offset, act_min, act_max)
 *   with m, s from in1_scale * in2_scale / out_scale; |product| <= 2^16 (int8) or 2^30
 *   (int16, zero points 0): fits int32.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_mul_s8(const afkd_mul_params *p, const int8_t *a, const int8_t *b, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t product = (a[i] + p->input1_offset) * (b[i] + p->input2_offset);
        const int32_t y = afkd_requantize(product, p->output_multiplier, p->output_shift) +
                          p->output_offset;
        out[i] = (int8_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
