/*
 * afkd_requant.h - fixed-point requantization helpers shared by the afkd kernels.
 *
 * These reproduce, bit for bit, TFLite's MultiplyByQuantizedMultiplier (the default
 * "double rounding" build, TFLITE_SINGLE_ROUNDING off) and its int64 variant used by the
 * 16x8 convolutions. A real multiplier M > 0 is stored as (multiplier, shift) with
 * M = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (or 0), shift in [-31, 7]
 * (positive = left shift). See export/intops.py quantize_multiplier().
 */
#ifndef AFKD_REQUANT_H
#define AFKD_REQUANT_H

#include <stdint.h>

/*
 * round(a * b / 2^31), ties away from zero (gemmlowp SaturatingRoundingDoublingHighMul).
 * The saturating case a == b == INT32_MIN cannot occur: multipliers are >= 0.
 * floor((a*b + 2^30) / 2^31) equals gemmlowp's "nudge then truncate toward zero" for
 * every a*b (both round |a*b| / 2^31 up only when the remainder exceeds 2^30), and it
 * compiles to one SMLAL on Cortex-M4.
 */
static inline int32_t afkd_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t product = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return (int32_t)(product >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero (gemmlowp RoundingDivideByPOT). */
static inline int32_t afkd_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/*
 * TFLite MultiplyByQuantizedMultiplier(int32 x, multiplier, shift):
 *   y = RoundingDivideByPOT(DoublingHighMul(x * 2^max(shift,0), multiplier), max(-shift,0))
 * i.e. y ~= round(x * M). x * 2^left_shift must fit int32: left shifts only occur for
 * M >= 1 (e.g. ADD's output stage never, MUL rarely) and TFLite has the same limit.
 */
static inline int32_t afkd_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return afkd_rounding_divide_by_pot(
        afkd_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/*
 * TFLite MultiplyByQuantizedMultiplier(int64 x, multiplier, shift) of the 16x8 convolutions:
 * the multiplier is first rounded to 16 bits (m16 = round(multiplier / 2^16), at most
 * 0x7FFF), then y = (x * m16 + 2^(14 - shift)) >> (15 - shift)  (floor shift: ties go up).
 * TFLite requires |x| < 2^47, so x * m16 < 2^62 cannot overflow int64.
 */
static inline int32_t afkd_requantize64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? ((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t rounding = (int64_t)1 << (total_shift - 1);
    return (int32_t)((x * reduced + rounding) >> total_shift);
}

static inline int32_t afkd_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* AFKD_REQUANT_H */
