/*
 * afkd_add_s8.c - TFLite ADD int8 (reference AddElementwise), two inputs with their own
 * quantization: both are moved onto a common fine grid (shifted left by left_shift = 20,
 * then scaled by in_scale / (2 * max_in_scale) <= 1/2), added, and rescaled to the output.
 * Fast loop (afkd_requant.h prepared requant, needs -2^30 <= value * 2^shift < 2^30):
 * |a + offset| <= 255 < 2^8, so |(a + offset) << 20| < 2^28; input multipliers are <= 1/2
 * (shift <= 0), so the sum of the scaled terms is below 2^28 too. Other parameters (left
 * shift above 21, positive shifts) take the general loop.
 */
#include "afkd_add_element.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

static void afkd_add_s8_general(const afkd_add_params *p, const int8_t *a, const int8_t *b,
                                int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = (int8_t)afkd_add_element(p, a[i], b[i]);
    }
}

/*
 * The common case, as afkd_add_s16.c's: the input with the larger scale has multiplier
 * 2^30, shift 0, and DoublingHighMul((v << 20), 2^30) = v << 19 exactly (v << 20 is even);
 * the other input's and the output's right shifts are >= 1, so with h = SMMULR(2x, m),
 * RoundingDivideByPOT(h, e) = (h + 2^(e-1) + (h >> 31)) >> e. |v| <= 255 keeps every value
 * below 2^28. Returns 0 when the parameters are not of this form.
 */
static int afkd_add_s8_halves(const afkd_add_params *p, const int8_t *a, const int8_t *b,
                              int8_t *out, int32_t n)
{
    const int32_t half_scale = 1 << 30;
    if (p->left_shift != 20 || p->output_shift >= 0 || p->input1_shift > 0 || p->input2_shift > 0) {
        return 0;
    }
    int32_t multiplier, shift, offset_a, offset_b;
    if (p->input1_multiplier == half_scale && p->input1_shift == 0) {
        multiplier = p->input2_multiplier;
        shift = p->input2_shift;
        offset_a = p->input1_offset;
        offset_b = p->input2_offset;
    } else if (p->input2_multiplier == half_scale && p->input2_shift == 0) {
        const int8_t *swap = a; /* a + b = b + a: put the exact half first */
        a = b;
        b = swap;
        multiplier = p->input1_multiplier;
        shift = p->input1_shift;
        offset_a = p->input2_offset;
        offset_b = p->input1_offset;
    } else {
        return 0;
    }
    if (shift == 0 && multiplier != half_scale) {
        return 0; /* factor in (1/2, 1): not produced by TFLite's ADD Prepare */
    }
    const int32_t lo = p->act_min, hi = p->act_max, out_m = p->output_multiplier;
    const int32_t out_down = -p->output_shift, out_half = 1 << (out_down - 1);
    const int32_t output_offset = p->output_offset;
    if (shift == 0) { /* equal scales: both inputs exact halves */
        const int32_t offsets = offset_a + offset_b;
        for (int32_t i = 0; i < n; i++) {
            const int32_t high = afkd_smmulr(afkd_shl(a[i] + b[i] + offsets, 20), out_m);
            const int32_t y = ((high + out_half + (high >> 31)) >> out_down) + output_offset;
            out[i] = (int8_t)afkd_clamp(y, lo, hi);
        }
        return 1;
    }
    const int32_t down = -shift, half = 1 << (down - 1);
    for (int32_t i = 0; i < n; i++) {
        const int32_t b_high = afkd_smmulr(afkd_shl(b[i] + offset_b, 21), multiplier);
        const int32_t b_scaled = (b_high + half + (b_high >> 31)) >> down;
        const int32_t high = afkd_smmulr(afkd_shl(afkd_shl(a[i] + offset_a, 19) + b_scaled, 1), out_m);
        const int32_t y = ((high + out_half + (high >> 31)) >> out_down) + output_offset;
        out[i] = (int8_t)afkd_clamp(y, lo, hi);
    }
    return 1;
}

/*
 * The exporter's linear form (afkd_kernels.h): two MLAs a value, about 9 instructions against
 * the halves loop's 29. Shift 16 (the one the exporter tries first) with the whole int8 range
 * as the clamp is one SSAT with the shift folded in.
 */
static void afkd_add_s8_linear(const afkd_add_s8_params *p, const int8_t *a, const int8_t *b,
                               int8_t *out, int32_t n)
{
    const int32_t k1 = p->linear_k1, k2 = p->linear_k2, c = p->linear_c, shift = p->linear_shift;
    const int32_t lo = p->tflite.act_min, hi = p->tflite.act_max;
    if (lo == -128 && hi == 127) {
        if (shift == 16) {
            for (int32_t i = 0; i < n; i++) {
                out[i] = (int8_t)afkd_saturate8((a[i] * k1 + b[i] * k2 + c) >> 16);
            }
            return;
        }
        for (int32_t i = 0; i < n; i++) {
            out[i] = (int8_t)afkd_saturate8((a[i] * k1 + b[i] * k2 + c) >> shift);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        out[i] = (int8_t)afkd_clamp((a[i] * k1 + b[i] * k2 + c) >> shift, lo, hi);
    }
}

void afkd_add_s8(const afkd_add_s8_params *linear, const int8_t *a, const int8_t *b, int8_t *out, int32_t n)
{
    if (linear->linear_shift > 0) {
        afkd_add_s8_linear(linear, a, b, out, n);
        return;
    }
    const afkd_add_params *p = &linear->tflite;
    if (afkd_add_s8_halves(p, a, b, out, n)) {
        return;
    }
    if (p->left_shift > 21 || p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0) {
        afkd_add_s8_general(p, a, b, out, n);
        return;
    }
    afkd_requant_prepared q1 = afkd_requant_prepare(p->input1_multiplier, p->input1_shift);
    afkd_requant_prepared q2 = afkd_requant_prepare(p->input2_multiplier, p->input2_shift);
    q1.doubling_shift += p->left_shift; /* (a << left_shift), then the requant's doubling */
    q2.doubling_shift += p->left_shift;
    const afkd_requant_prepared qo = afkd_requant_prepare(p->output_multiplier, p->output_shift);
    const int32_t offset1 = p->input1_offset, offset2 = p->input2_offset;
    const int32_t output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t i = 0; i < n; i++) {
        const int32_t sum = afkd_requant_apply(&q1, a[i] + offset1) + afkd_requant_apply(&q2, b[i] + offset2);
        out[i] = (int8_t)afkd_clamp(afkd_requant_apply(&qo, sum) + output_offset, lo, hi);
    }
}
