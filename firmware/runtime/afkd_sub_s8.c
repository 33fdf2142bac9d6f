/*
 * afkd_sub_s8.c - TFLite SUB int8 (reference Sub, BroadcastQuantSubSlow for one value of b):
 *   a' = requant((a + in1_offset) << left_shift, m1, s1), b' likewise,
 *   y  = clamp(requant(a' - b', m_out, s_out) + output_offset, act_min, act_max)
 * ADD's parameters (left_shift 20): |a'|, |b'| <= 2^27, so a' - b' fits int32.
 */
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_sub_s8(const afkd_add_params *p, const int8_t *a, const int8_t *b, int32_t b_step, int8_t *out,
                 int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t a_shifted = (int32_t)((uint32_t)(a[i] + p->input1_offset) << p->left_shift);
        const int32_t b_shifted = (int32_t)((uint32_t)(b[i * b_step] + p->input2_offset) << p->left_shift);
        const int32_t a_scaled = afkd_requantize(a_shifted, p->input1_multiplier, p->input1_shift);
        const int32_t b_scaled = afkd_requantize(b_shifted, p->input2_multiplier, p->input2_shift);
        const int32_t y = afkd_requantize(a_scaled - b_scaled, p->output_multiplier, p->output_shift) +
                          p->output_offset;
        out[i] = (int8_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
