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

#if defined(__ARM_FEATURE_SAT) && !defined(AFKD_DSP_EMULATION)
#include <arm_acle.h>
#endif

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

/*
 * afkd_requantize() with its shifts prepared once per call, for element-wise loops whose
 * inputs obey -2^30 <= x * 2^left_shift < 2^30 (each kernel states why). Bit-exact with
 * afkd_requantize():
 *   DoublingHighMul(y, m) = floor((y*m + 2^30) / 2^31) = floor((2y*m + 2^31) / 2^32),
 *     which is one SMMULR of 2y (2y fits int32 by the bound above);
 *   RoundingDivideByPOT(z, e) (ties away from zero) = (z + 2^(e-1) - [z < 0]) >> e for
 *     e >= 1 (rounds up iff the remainder exceeds 2^(e-1) - 1 for z >= 0, 2^(e-1) for
 *     z < 0), and z for e = 0 (then half = 0 and the sign fix is masked off).
 */
typedef struct {
    int32_t multiplier;
    int32_t doubling_shift;  /* left_shift + 1: the doubling for SMMULR folded in */
    int32_t right_shift;
    int32_t half;            /* 2^(right_shift-1), or 0 */
    int32_t sign_mask;       /* -1 when right_shift > 0 (apply the [z < 0] fix), else 0 */
} afkd_requant_prepared;

static inline afkd_requant_prepared afkd_requant_prepare(int32_t multiplier, int32_t shift)
{
    afkd_requant_prepared q;
    q.multiplier = multiplier;
    q.doubling_shift = (shift > 0 ? shift : 0) + 1;
    q.right_shift = shift > 0 ? 0 : -shift;
    q.half = q.right_shift > 0 ? (int32_t)(1u << (q.right_shift - 1)) : 0;
    q.sign_mask = q.right_shift > 0 ? -1 : 0;
    return q;
}

/* x * 2^s for signed x (|x * 2^s| < 2^31 at every call): shifted as unsigned, because a
 * left shift of a negative int is undefined in C. */
static inline int32_t afkd_shl(int32_t x, int32_t s)
{
    return (int32_t)((uint32_t)x << s);
}

/* round(a * b / 2^32), ties up: (a*b + 2^31) >> 32, one SMMULR on DSP cores. */
static inline int32_t afkd_smmulr(int32_t a, int32_t b)
{
#if defined(__ARM_FEATURE_DSP) && !defined(AFKD_DSP_EMULATION)
    int32_t high;
    __asm__("smmulr %0, %1, %2" : "=r"(high) : "r"(a), "r"(b));
    return high;
#else
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

static inline int32_t afkd_requant_apply(const afkd_requant_prepared *q, int32_t x)
{
    const int32_t high = afkd_smmulr(afkd_shl(x, q->doubling_shift), q->multiplier);
    return (high + q->half + ((high >> 31) & q->sign_mask)) >> q->right_shift;
}

/*
 * afkd_requantize(x, multiplier, -down) for down >= 1 and |x| < 2^30 (the exporter's
 * AFKD_REQUANT_32BIT_RIGHT layers): DoublingHighMul as one SMMULR of 2x, then
 * RoundingDivideByPOT as (h - [h < 0] + 2^(down-1)) >> down, with no branch.
 */
static inline int32_t afkd_requant_right(int32_t x, int32_t multiplier, int32_t down)
{
    const int32_t high = afkd_smmulr(afkd_shl(x, 1), multiplier);
    return (high + (high >> 31) + (int32_t)((1u << down) >> 1)) >> down;
}

/*
 * The same int64 requant from TFLite's stored form (m16 = reduced multiplier, ts = 15 - shift):
 * y = (x * m16 + 2^(ts-1)) >> ts, for the kernels' int64 accumulators.
 */
static inline int32_t afkd_requantize16_wide(int64_t x, int32_t m16, int32_t ts)
{
    return (int32_t)((x * m16 + ((int64_t)1 << (ts - 1))) >> ts);
}

/*
 * y = (acc * m16 + 2^(ts-1)) >> ts for an int32 acc, without 64-bit shifts (bit-exact with
 * afkd_requantize16_wide; NumPy twin: export/intops_pack.py requantize_s16_fast):
 *   16 <= ts <= 32: m = m16 << (32 - ts) < 2^31 (m16 < 2^15), and
 *                   (acc*m + 2^31) >> 32 = (acc*m16 + 2^(ts-1)) >> ts   (one SMMULR);
 *   ts > 32:        2^(ts-1) is a multiple of 2^32, so with h = floor(acc*m16 / 2^32)
 *                   (one SMMUL) y = (h + 2^(ts-33)) >> (ts - 32);
 *   ts < 16:        (a multiplier >= 1/2, rare in convs) the 64-bit formula.
 */
static inline int32_t afkd_requantize16(int32_t acc, int32_t m16, int32_t ts)
{
    if (__builtin_expect((uint32_t)(ts - 16) <= 16u, 1)) { /* 16 <= ts <= 32: the usual case */
        return afkd_smmulr(acc, afkd_shl(m16, 32 - ts));
    }
    if (ts > 32) {
        const int32_t post = ts - 32;
        const int32_t high = (int32_t)(((int64_t)acc * m16) >> 32);
        return (high + (1 << (post - 1))) >> post;
    }
    return afkd_requantize16_wide(acc, m16, ts);
}

static inline int32_t afkd_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* clamp(x, 0, 32767), the int16 ReLU range: one USAT on cores with the saturation instructions. */
static inline int32_t afkd_saturate_relu16(int32_t x)
{
#if defined(__ARM_FEATURE_SAT) && !defined(AFKD_DSP_EMULATION)
    return (int32_t)__usat(x, 15);
#else
    return afkd_clamp(x, 0, 32767);
#endif
}

/* clamp(x, -32768, 32767): one SSAT on cores with the saturation instructions. */
static inline int32_t afkd_saturate16(int32_t x)
{
#if defined(__ARM_FEATURE_SAT) && !defined(AFKD_DSP_EMULATION)
    return __ssat(x, 16);
#else
    return afkd_clamp(x, -32768, 32767);
#endif
}

/* The int8 range: one SSAT where the core has it. */
static inline int32_t afkd_saturate8(int32_t x)
{
#if defined(__ARM_FEATURE_SAT) && !defined(AFKD_DSP_EMULATION)
    return __ssat(x, 8);
#else
    return afkd_clamp(x, -128, 127);
#endif
}

#endif /* AFKD_REQUANT_H */
