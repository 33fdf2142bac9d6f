/*
 * afkd_leaky_relu_s16.c - TFLite LEAKY_RELU int16 (reference QuantizeLeakyRelu), n values:
 *   v = in + input_offset
 *   y = v >= 0 ? requant(v, m_identity, s_identity) : requant(v, m_alpha, s_alpha)
 *   out = clamp(y + output_offset, -32768, 32767)
 * A negative slope is a negative m_alpha. |v| <= 2^16, so for left shifts <= 13 (M < 2^13;
 * the usual case is M ~ 1) |v * 2^left_shift| < 2^30 and the prepared 32-bit requant
 * (afkd_requant.h) is exact; larger shifts take the general loop.
 * The exported 16x8 layers come with a fast form instead (fast != 0, afkd_kernels.h): each
 * branch is one SMLAW per value, which the exporter proved equal to the above on all 65,536
 * inputs (export/intops_leaky.py); about 4-6 instructions a value instead of 12.
 */
#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* One branch of the fast form (afkd_kernels.h) on one value: portable C. */
static inline int32_t afkd_leaky16_fast_branch(int32_t v, int32_t multiplier, int32_t round, int32_t whole)
{
    /* SMLAWB: the top 32 bits of the 48-bit product, plus round; the exporter proved that the
     * sum never leaves int32. */
    int32_t y = (round + (int32_t)(((int64_t)multiplier * v) >> 16)) >> 16;
    for (int32_t k = 0; k < whole; k++) {
        y = afkd_saturate16(y + v);
    }
    return y;
}

static inline int16_t afkd_leaky16_fast_value(const afkd_leaky_relu_params *p, int32_t v)
{
    if (v < 0) {
        return (int16_t)afkd_leaky16_fast_branch(v, p->fast_neg_multiplier, p->fast_neg_round, p->fast_neg_whole);
    }
    return (int16_t)(p->fast == 1 ? v : afkd_leaky16_fast_branch(v, p->fast_pos_multiplier, p->fast_pos_round,
                                                                 p->fast_pos_whole));
}

#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
/* Both halves of a word through one branch: SMLAWB and SMLAWT put each result in the top half
 * of a register, PKHTB packs the two, QADD16 adds v `whole` times with TFLite's clamp. */
__attribute__((always_inline)) static inline uint32_t afkd_leaky16_fast_pair(uint32_t v, int32_t multiplier,
                                                                            int32_t round, int32_t whole)
{
    const int32_t lo = __smlawb(multiplier, (int32_t)v, round);
    const int32_t hi = __smlawt(multiplier, (int32_t)v, round);
    uint32_t y;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(y) : "r"(hi), "r"(lo));
    for (int32_t k = 0; k < whole; k++) {  /* whole is a constant at every call site */
        y = (uint32_t)__qadd16((int16x2_t)y, (int16x2_t)v);
    }
    return y;
}

/* Two values per word: each half takes pos where v >= 0, neg elsewhere (SSUB16 sets the GE
 * flags per half, SEL reads them). */
__attribute__((always_inline)) static inline uint32_t afkd_leaky16_fast_word(uint32_t v, const int32_t k[4],
                                                                            int same_scale, int32_t neg_whole,
                                                                            int32_t pos_whole)
{
    const uint32_t neg = afkd_leaky16_fast_pair(v, k[0], k[1], neg_whole);
    const uint32_t pos = same_scale ? v : afkd_leaky16_fast_pair(v, k[2], k[3], pos_whole);
    uint32_t y, scratch;
    __asm__("ssub16 %1, %2, %5\n\tsel %0, %3, %4" : "=r"(y), "=&r"(scratch) : "r"(v), "r"(pos), "r"(neg), "r"(0)
            : "cc");
    return y;
}

/* Two words a pass (one loop branch per four values, LDRD/STRD), then the odd word; word-aligned
 * buffers (the generated model's; afkd_leaky16_fast sends others value by value). same_scale,
 * neg_whole and pos_whole are constants at every call site; the branch constants live in
 * registers (copied out of p: the stores could alias it). */
__attribute__((always_inline)) static inline void afkd_leaky16_fast_run(const afkd_leaky_relu_params *p,
                                                                       const int16_t *in, int16_t *out,
                                                                       int32_t words, int same_scale,
                                                                       int32_t neg_whole, int32_t pos_whole)
{
    const int32_t k[4] = {p->fast_neg_multiplier, p->fast_neg_round, p->fast_pos_multiplier, p->fast_pos_round};
    const uint32_t *in32 = __builtin_assume_aligned(in, 4);
    uint32_t *out32 = __builtin_assume_aligned(out, 4);
    for (int32_t i = words >> 1; i > 0; i--, in32 += 2, out32 += 2) {
        const uint32_t v0 = in32[0], v1 = in32[1];
        out32[0] = afkd_leaky16_fast_word(v0, k, same_scale, neg_whole, pos_whole);
        out32[1] = afkd_leaky16_fast_word(v1, k, same_scale, neg_whole, pos_whole);
    }
    if (words & 1) {
        out32[0] = afkd_leaky16_fast_word(in32[0], k, same_scale, neg_whole, pos_whole);
    }
}

/* The fast form's loop for one (fast, whole, whole) combination, the last value in C. Not
 * inlined into afkd_leaky_relu_s16, so the call pays only this path's register saves. */
__attribute__((noinline)) static void afkd_leaky16_fast(const afkd_leaky_relu_params *p, const int16_t *in,
                                                        int16_t *out, int32_t n)
{
    const int32_t words = n >> 1, neg_whole = p->fast_neg_whole, pos_whole = p->fast_pos_whole;
    /* One loop per combination the exporter gives (whole parts up to 4 on the positive side,
     * 1 on the negative), its constants folded in; anything else, or unaligned buffers, value
     * by value. */
    const int32_t key = p->fast == 1 ? neg_whole : 10 + 5 * neg_whole + pos_whole;
    const int aligned = (((uintptr_t)in | (uintptr_t)out) & 3u) == 0u;
    switch (aligned && neg_whole <= 1 && pos_whole <= 4 ? key : -1) {
    case 0: afkd_leaky16_fast_run(p, in, out, words, 1, 0, 0); break;
    case 1: afkd_leaky16_fast_run(p, in, out, words, 1, 1, 0); break;
    case 10: afkd_leaky16_fast_run(p, in, out, words, 0, 0, 0); break;
    case 11: afkd_leaky16_fast_run(p, in, out, words, 0, 0, 1); break;
    case 12: afkd_leaky16_fast_run(p, in, out, words, 0, 0, 2); break;
    case 13: afkd_leaky16_fast_run(p, in, out, words, 0, 0, 3); break;
    case 14: afkd_leaky16_fast_run(p, in, out, words, 0, 0, 4); break;
    case 15: afkd_leaky16_fast_run(p, in, out, words, 0, 1, 0); break;
    case 16: afkd_leaky16_fast_run(p, in, out, words, 0, 1, 1); break;
    case 17: afkd_leaky16_fast_run(p, in, out, words, 0, 1, 2); break;
    default:
        for (int32_t i = 0; i < 2 * words; i++) {
            out[i] = afkd_leaky16_fast_value(p, in[i]);
        }
        break;
    }
    if (n & 1) {
        out[n - 1] = afkd_leaky16_fast_value(p, in[n - 1]);
    }
}
#else
/* Portable: the same form value by value (same bits as the DSP loop). */
__attribute__((noinline)) static void afkd_leaky16_fast(const afkd_leaky_relu_params *p, const int16_t *in,
                                                        int16_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = afkd_leaky16_fast_value(p, in[i]);
    }
}
#endif

/* The 16x8 loop's prepared constants (afkd_requant.h) for both branches. */
typedef struct {
    int32_t m_pos, up_pos, down_pos, half_pos;
    int32_t m_neg, up_neg, down_neg, half_neg, mask_neg;
} afkd_leaky16_loop;

/* same_scale and non_negative_slope are constants at every call site (see below). */
__attribute__((always_inline)) static inline void afkd_leaky16_run(const afkd_leaky16_loop *q, const int16_t *in,
                                                                  int16_t *out, int32_t n, int same_scale,
                                                                  int non_negative_slope)
{
    const int32_t m_pos = q->m_pos, up_pos = q->up_pos, down_pos = q->down_pos, half_pos = q->half_pos;
    const int32_t m_neg = q->m_neg, up_neg = q->up_neg, down_neg = q->down_neg, half_neg = q->half_neg;
    const int32_t mask_neg = q->mask_neg;
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = in[i];
        int32_t y;
        if (v >= 0) {
            y = same_scale ? v : (afkd_smmulr(afkd_shl(v, up_pos), m_pos) + half_pos) >> down_pos;
        } else {
            const int32_t high = afkd_smmulr(afkd_shl(v, up_neg), m_neg);
            y = non_negative_slope ? (high + (half_neg - 1)) >> down_neg
                                   : (high + half_neg + ((high >> 31) & mask_neg)) >> down_neg;
        }
        out[i] = (int16_t)afkd_saturate16(y);
    }
}

/* TFLite's form, where the exporter found no fast one. */
__attribute__((noinline)) static void afkd_leaky16_tflite_form(const afkd_leaky_relu_params *p, const int16_t *in,
                                                               int16_t *out, int32_t n)
{
    const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
    if (input_offset != 0 || output_offset != 0 || p->shift_identity > 13 || p->shift_alpha > 13) {
        for (int32_t i = 0; i < n; i++) {
            const int32_t v = in[i] + input_offset;
            const int32_t y = v >= 0 ? afkd_requantize(v, p->multiplier_identity, p->shift_identity)
                                     : afkd_requantize(v, p->multiplier_alpha, p->shift_alpha);
            out[i] = (int16_t)afkd_clamp(y + output_offset, -32768, 32767);
        }
        return;
    }
    /* 16x8 (zero points 0): scalars in locals, so the loop keeps them in registers. For
     * v >= 0 the product is >= 0 (m_identity > 0), so the positive branch needs no sign fix. */
    const afkd_requant_prepared identity = afkd_requant_prepare(p->multiplier_identity, p->shift_identity);
    const afkd_requant_prepared alpha = afkd_requant_prepare(p->multiplier_alpha, p->shift_alpha);
    const afkd_leaky16_loop q = {identity.multiplier, identity.doubling_shift, identity.right_shift, identity.half,
                                 alpha.multiplier, alpha.doubling_shift, alpha.right_shift, alpha.half,
                                 alpha.sign_mask};
    /* The converter often gives the output the input's scale: then requant(v) = v exactly for
     * v >= 0 (DoublingHighMul(2v, 2^30) = v), and only negative values are scaled. */
    const int same_scale = p->multiplier_identity == (1 << 30) && p->shift_identity == 1;
    /* A slope >= 0 makes the negative branch's product <= 0; with a right shift, its rounding
     * (ties away from zero) is then (high + half - 1) >> down, one AND and ADD fewer. */
    const int non_negative_slope = p->multiplier_alpha >= 0 && alpha.right_shift >= 1;
    if (same_scale && non_negative_slope) {
        afkd_leaky16_run(&q, in, out, n, 1, 1);
    } else if (same_scale) {
        afkd_leaky16_run(&q, in, out, n, 1, 0);
    } else if (non_negative_slope) {
        afkd_leaky16_run(&q, in, out, n, 0, 1);
    } else {
        afkd_leaky16_run(&q, in, out, n, 0, 0);
    }
}

void afkd_leaky_relu_s16(const afkd_leaky_relu_params *p, const int16_t *in, int16_t *out, int32_t n)
{
    if (p->fast != 0) {
        afkd_leaky16_fast(p, in, out, n);
    } else {
        afkd_leaky16_tflite_form(p, in, out, n);
    }
}
