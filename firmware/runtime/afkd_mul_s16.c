/*
 * afkd_mul_s16.c - TFLite MUL int16_t (reference MulElementwise):
 *   out = clamp(requant((a + o1) * (b + o2), m, s) + output_offset, act_min, act_max)
 *   with m, s from in1_scale * in2_scale / out_scale; |product| <= 2^16 (int8) or 2^30
 *   (int16, zero points 0): fits int32.
 * The 16x8 graph's form (zero points 0, s <= 0) takes a loop with TFLite's two roundings
 * written as integer arithmetic:
 *   SaturatingRoundingDoublingHighMul(x, m) = floor((x * m + 2^30) / 2^31) for every int32 x
 *   (TFLite's nudge and truncating division meet the floor on both signs; its one saturating
 *   input, x = m = INT32_MIN, cannot occur with x = a * b), one SMLAL and two shifts;
 *   RoundingDivideByPOT(h, e) = (h + 2^(e-1) - (h < 0)) >> e (ties away from zero).
 * Two values per word on Cortex-M4 (SMULBB/SMULTT read the halves, PKHBT packs the results).
 */
#include <string.h>

#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* One element of the 16x8 form; lo/hi the activation clamp, full_range a constant. */
__attribute__((always_inline)) static inline int32_t afkd_mul16_element(int32_t product, int32_t multiplier,
                                                                       int32_t down, int32_t half, int32_t lo,
                                                                       int32_t hi, int full_range)
{
    const int32_t high = (int32_t)(((int64_t)product * multiplier + (1 << 30)) >> 31);
    const int32_t y = down > 0 ? (high + half + (high >> 31)) >> down : high;
    return full_range ? afkd_saturate16(y) : afkd_clamp(y, lo, hi);
}

__attribute__((always_inline)) static inline void afkd_mul16_loop(const afkd_mul_params *p, const int16_t *a,
                                                                 const int16_t *b, int16_t *out, int32_t n,
                                                                 int full_range)
{
    const int32_t multiplier = p->output_multiplier, down = -p->output_shift;
    const int32_t half = down > 0 ? 1 << (down - 1) : 0, lo = p->act_min, hi = p->act_max;
    int32_t i = 0;
    for (; i + 2 <= n; i += 2) {  /* a word of each input: both halves multiplied in place */
        int32_t wa, wb;
        memcpy(&wa, a + i, sizeof wa);
        memcpy(&wb, b + i, sizeof wb);
        const int32_t y0 = afkd_mul16_element((int16_t)wa * (int16_t)wb, multiplier, down, half, lo, hi, full_range);
        const int32_t y1 = afkd_mul16_element((wa >> 16) * (wb >> 16), multiplier, down, half, lo, hi, full_range);
        afkd_store_pair16(out + i, y0, y1);
    }
    if (i < n) {
        out[i] = (int16_t)afkd_mul16_element(a[i] * b[i], multiplier, down, half, lo, hi, full_range);
    }
}

void afkd_mul_s16(const afkd_mul_params *p, const int16_t *a, const int16_t *b, int16_t *out, int32_t n)
{
    if (p->input1_offset == 0 && p->input2_offset == 0 && p->output_offset == 0 && p->output_shift <= 0) {
        if (p->act_min == -32768 && p->act_max == 32767) {
            afkd_mul16_loop(p, a, b, out, n, 1);
        } else {
            afkd_mul16_loop(p, a, b, out, n, 0);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t product = (a[i] + p->input1_offset) * (b[i] + p->input2_offset);
        const int32_t y = afkd_requantize(product, p->output_multiplier, p->output_shift) +
                          p->output_offset;
        out[i] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}
