/*
 * afkd_add_element.h - one element of TFLite ADD (reference AddElementwise), any parameters,
 * shared by afkd_add_s8.c and afkd_add_s16.c as their general path:
 *   a' = requant((a + in1_offset) << left_shift, m1, s1), b' likewise,
 *   y  = clamp(requant(a' + b', m_out, s_out) + output_offset, act_min, act_max)
 * |(x + offset) << left_shift| <= 2^28 (int8, shift 20) or 2^30 (int16, shift 15) fits int32,
 * and each scaled term is at most half of it, so the sum fits too.
 */
#ifndef AFKD_ADD_ELEMENT_H
#define AFKD_ADD_ELEMENT_H

#include "afkd_kernels.h"
#include "afkd_requant.h"

static inline int32_t afkd_add_element(const afkd_add_params *p, int32_t a, int32_t b)
{
    const int32_t a_shifted = (int32_t)((uint32_t)(a + p->input1_offset) << p->left_shift);
    const int32_t b_shifted = (int32_t)((uint32_t)(b + p->input2_offset) << p->left_shift);
    const int32_t a_scaled = afkd_requantize(a_shifted, p->input1_multiplier, p->input1_shift);
    const int32_t b_scaled = afkd_requantize(b_shifted, p->input2_multiplier, p->input2_shift);
    const int32_t y = afkd_requantize(a_scaled + b_scaled, p->output_multiplier, p->output_shift) +
                      p->output_offset;
    return afkd_clamp(y, p->act_min, p->act_max);
}

#endif /* AFKD_ADD_ELEMENT_H */
