/*
 * afkd_add_s16.c - TFLite ADD int16_t (reference AddElementwise), two inputs with their own
 * quantization: both are moved onto a common fine grid (shifted left by left_shift, then
 * scaled by in_scale / (2 * max_in_scale) <= 1/2), added, and rescaled to the output.
 *   |(x + offset) << left_shift| <= 2^(8+20) (int8) or 2^(16+15) (int16): fits int32, and
 *   each scaled term is at most half of that, so the sum fits too.
 * Fast loop (afkd_requant.h prepared requant, needs -2^30 <= value * 2^shift < 2^30): with
 * zero points 0 (16x8) (a << 15) is in [-2^30, 2^30 - 2^15]; input multipliers are <= 1/2
 * (shift <= 0), so each scaled term is in [-2^29, 2^29) and their sum in [-2^30, 2^30).
 * Other parameters (offsets, positive shifts) take the general loop.
 */
#include "afkd_add_element.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

static void afkd_add_s16_general(const afkd_add_params *p, const int16_t *a, const int16_t *b,
                                 int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = (int16_t)afkd_add_element(p, a[i], b[i]);
    }
}

/*
 * The HALVES loop when the output keeps the larger input's scale (output multiplier 2^30,
 * shift -13: the converter's usual choice for a residual sum), no activation. Then TFLite's
 * output stage is one rounding of s = (a << 14) + b_scaled:
 *   DoublingHighMul(s, 2^30) = floor((s + 1) / 2) = h,  RoundingDivideByPOT(h, 13)
 *   = floor((h + 2^12 - [h < 0]) / 2^13) = floor((s + 1 + 2^13 - 2 [s <= -2]) / 2^14)
 * (a floor of a floor by powers of two is one floor), and [s <= -2] may be read as [s < 0]:
 * the two differ at s = -1 only, where both give 0. One SSAT with ASR #14 clamps.
 */
__attribute__((noinline)) static void afkd_add_s16_halves_unit(const int16_t *a, const int16_t *b, int16_t *out,
                                                               int32_t n, int32_t multiplier, int32_t down)
{
    const int32_t half = 1 << (down - 1);
    for (const int16_t *const end = a + n; a != end; a++, b++, out++) {
        const int32_t b_high = afkd_smmulr(afkd_shl(*b, 16), multiplier);
        const int32_t b_scaled = (b_high + half + (b_high >> 31)) >> down;
        const int32_t s = afkd_shl(*a, 14) + b_scaled;
        *out = (int16_t)afkd_saturate16((s + ((1 << 13) + 1) + 2 * (s >> 31)) >> 14);
    }
}

/* The unit-output form checked first and cheaply (it is every residual sum of the exported
 * student but one): returns 0 when the parameters are not of it. */
static inline int afkd_add_s16_unit(const afkd_add_params *p, const int16_t *a, const int16_t *b, int16_t *out,
                                    int32_t n)
{
    const int32_t half_scale = 1 << 30;
    if (p->output_multiplier != half_scale || p->output_shift != -13 || p->left_shift != 15 ||
        (p->input1_offset | p->input2_offset | p->output_offset) != 0 || p->act_min != -32768 || p->act_max != 32767) {
        return 0;
    }
    if (p->input1_multiplier == half_scale && p->input1_shift == 0 && p->input2_shift < 0) {
        afkd_add_s16_halves_unit(a, b, out, n, p->input2_multiplier, -p->input2_shift);
        return 1;
    }
    if (p->input2_multiplier == half_scale && p->input2_shift == 0 && p->input1_shift < 0) {
        afkd_add_s16_halves_unit(b, a, out, n, p->input1_multiplier, -p->input1_shift);  /* a + b = b + a */
        return 1;
    }
    return 0;
}

/* The HALVES loop below: `a` the input with the exact factor 1/2, `b` the scaled one. full_range
 * is a constant at both call sites. */
__attribute__((always_inline)) static inline void afkd_add_s16_halves_loop(
    const int16_t *a, const int16_t *b, int16_t *out, int32_t n, int32_t multiplier, int32_t down, int32_t half,
    int32_t out_m, int32_t out_down, int32_t out_half, int32_t lo, int32_t hi, int full_range)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t b_high = afkd_smmulr(afkd_shl(b[i], 16), multiplier);
        const int32_t b_scaled = (b_high + half + (b_high >> 31)) >> down;
        const int32_t high = afkd_smmulr(afkd_shl(afkd_shl(a[i], 14) + b_scaled, 1), out_m);
        const int32_t y = (high + out_half + (high >> 31)) >> out_down;
        out[i] = (int16_t)(full_range ? afkd_saturate16(y) : afkd_clamp(y, lo, hi));
    }
}

/*
 * The common 16x8 case, 20 instructions an element instead of 40: zero points 0, left shift
 * 15, and the input with the larger scale gets multiplier 2^30, shift 0 (its factor
 * s / (2 max s) is exactly 1/2). For that input DoublingHighMul(v << 15, 2^30) =
 * floor((v * 2^15 + 1) / 2) = v << 14 exactly (v << 15 is even). The other input's factor is
 * below 1/2, so its right shift is >= 1, as is the output stage's (checked): with
 * h = SMMULR(2x, m), RoundingDivideByPOT(h, e) = (h + 2^(e-1) + (h >> 31)) >> e
 * (afkd_requant.h). Returns 0 when the parameters are not of this form.
 */
static int afkd_add_s16_halves(const afkd_add_params *p, const int16_t *a, const int16_t *b,
                               int16_t *out, int32_t n)
{
    const int32_t half_scale = 1 << 30;
    if (p->input1_offset != 0 || p->input2_offset != 0 || p->output_offset != 0 || p->left_shift != 15 ||
        p->output_shift >= 0 || p->input1_shift > 0 || p->input2_shift > 0) {
        return 0;
    }
    int32_t multiplier, shift;
    if (p->input1_multiplier == half_scale && p->input1_shift == 0) {
        multiplier = p->input2_multiplier;
        shift = p->input2_shift;
    } else if (p->input2_multiplier == half_scale && p->input2_shift == 0) {
        const int16_t *swap = a; /* a + b = b + a: put the exact half first */
        a = b;
        b = swap;
        multiplier = p->input1_multiplier;
        shift = p->input1_shift;
    } else {
        return 0;
    }
    if (shift == 0 && multiplier != half_scale) {
        return 0; /* factor in (1/2, 1): not produced by TFLite's ADD Prepare */
    }
    const int32_t lo = p->act_min, hi = p->act_max, out_m = p->output_multiplier;
    const int32_t out_down = -p->output_shift, out_half = 1 << (out_down - 1);
    if (shift == 0) { /* equal scales: both inputs exact halves */
        for (int32_t i = 0; i < n; i++) {
            const int32_t high = afkd_smmulr(afkd_shl((int32_t)a[i] + b[i], 15), out_m);
            out[i] = (int16_t)afkd_clamp((high + out_half + (high >> 31)) >> out_down, lo, hi);
        }
        return 1;
    }
    const int32_t down = -shift, half = 1 << (down - 1);
    if (lo == -32768 && hi == 32767) {  /* no activation: one SSAT instead of the clamp */
        afkd_add_s16_halves_loop(a, b, out, n, multiplier, down, half, out_m, out_down, out_half, lo, hi, 1);
    } else {
        afkd_add_s16_halves_loop(a, b, out, n, multiplier, down, half, out_m, out_down, out_half, lo, hi, 0);
    }
    return 1;
}

void afkd_add_s16(const afkd_add_params *p, const int16_t *a, const int16_t *b, int16_t *out, int32_t n)
{
    if (afkd_add_s16_unit(p, a, b, out, n) || afkd_add_s16_halves(p, a, b, out, n)) {
        return;
    }
    if (p->input1_offset != 0 || p->input2_offset != 0 || p->left_shift > 15 ||
        p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > 0) {
        afkd_add_s16_general(p, a, b, out, n);
        return;
    }
    afkd_requant_prepared q1 = afkd_requant_prepare(p->input1_multiplier, p->input1_shift);
    afkd_requant_prepared q2 = afkd_requant_prepare(p->input2_multiplier, p->input2_shift);
    q1.doubling_shift += p->left_shift; /* (a << left_shift), then the requant's doubling */
    q2.doubling_shift += p->left_shift;
    const afkd_requant_prepared qo = afkd_requant_prepare(p->output_multiplier, p->output_shift);
    const int32_t output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t i = 0; i < n; i++) {
        const int32_t sum = afkd_requant_apply(&q1, a[i]) + afkd_requant_apply(&q2, b[i]);
        out[i] = (int16_t)afkd_clamp(afkd_requant_apply(&qo, sum) + output_offset, lo, hi);
    }
}
