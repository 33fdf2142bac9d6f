/*
 * afkd_depthwise_s16.c - 16x8 causal dilated depthwise conv, one frame (TFLite
 * reference_integer_ops::DepthwiseConvPerChannel, int16 input, int64 bias):
 *   acc[c] = bias[c] + sum_k taps[k][c] * w[k][c]
 *   out[c] = clamp((acc[c] * m16[c] + 2^(ts[c]-1)) >> ts[c], act_min, act_max)
 * The K <= 16 products sum to at most 2^26. With bias64 NULL the exporter proved
 * |bias| + K * 2^22 < 2^31, so int32 is exact; otherwise the int64 bias is added as TFLite does.
 */
#include <stddef.h>

#include "afkd_depthwise16_m4.h"
#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

/* K = 3 with int32 sums; has_bias and use32 (the exporter's SMMULR multipliers, see
 * afkd_kernels.h) are constants at each call site, so each variant has a loop without tests. */
static inline void afkd_depthwise3_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                                       int16_t *out, int has_bias, int use32)
{
    /* Parameters in locals: the int16_t stores may alias them. */
    const int32_t channels = p->channels;
    const int8_t *const w0 = p->weights, *const w1 = w0 + channels, *const w2 = w1 + channels;
    const int16_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
    const int32_t *const bias = p->bias;
    const int16_t *const m16 = p->multiplier;
    const uint8_t *const ts = p->shift;
    const int32_t *const m32 = p->multiplier32;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t c = 0; c < channels; c++) {
        const int32_t acc = (has_bias ? bias[c] : 0) + t0[c] * w0[c] + t1[c] * w1[c] + t2[c] * w2[c];
        const int32_t y = use32 ? afkd_smmulr(acc, m32[c]) : afkd_requantize16(acc, m16[c], ts[c]);
        out[c] = (int16_t)afkd_clamp(y, lo, hi);
    }
}

/*
 * int16-stored weights (the exported default) are channel-pair-major: for each pair of
 * channels (c, c+1) the K words [w_k[c] w_k[c+1]], k = 0..K-1 (export/intops_pack.py
 * pack_depthwise_weights16; an odd last channel is paired with a zero).
 */
static inline int32_t afkd_dw16_weight(const afkd_depthwise_s16_params *p, int32_t k, int32_t c)
{
    return p->weights16[(c >> 1) * 2 * p->taps + 2 * k + (c & 1)];
}

/* K = 3, SMMULR multipliers, a bias, an even channel count and word-aligned frames (the
 * exported network's depthwise layers): two channels per pass, every input and weight word
 * holding both, multiplied by SMLABB (low halves) and SMLATT (high halves). full_range is a
 * constant in each caller: SSAT instead of the two-sided clamp. */
__attribute__((always_inline)) static inline void afkd_depthwise3_w16(const afkd_depthwise_s16_params *p,
                                                                     const int16_t *const *taps, int16_t *out,
                                                                     int full_range)
{
    const int32_t channels = p->channels;
    const int16_t *w = p->weights16;
    const int16_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
    const int32_t *const bias = p->bias, *const m32 = p->multiplier32;
    const int32_t lo = p->act_min, hi = p->act_max;
    for (int32_t c = 0; c < channels; c += 2, w += 6) {
#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
        const int32_t k0 = afkd_load_word(w), k1 = afkd_load_word(w + 2), k2 = afkd_load_word(w + 4);
        const int32_t x0 = afkd_load_word(t0 + c), x1 = afkd_load_word(t1 + c), x2 = afkd_load_word(t2 + c);
        int32_t even = __smlabb(x0, k0, bias[c]);
        int32_t odd = __smlatt(x0, k0, bias[c + 1]);
        even = __smlabb(x1, k1, even);
        odd = __smlatt(x1, k1, odd);
        even = __smlabb(x2, k2, even);
        odd = __smlatt(x2, k2, odd);
#else
        int32_t even = bias[c] + t0[c] * w[0] + t1[c] * w[2] + t2[c] * w[4];
        int32_t odd = bias[c + 1] + t0[c + 1] * w[1] + t1[c + 1] * w[3] + t2[c + 1] * w[5];
#endif
        even = afkd_smmulr(even, m32[c]);
        odd = afkd_smmulr(odd, m32[c + 1]);
        if (full_range) {
            even = afkd_saturate16(even);
            odd = afkd_saturate16(odd);
        } else {
            even = afkd_clamp(even, lo, hi);
            odd = afkd_clamp(odd, lo, hi);
        }
        out[c] = (int16_t)even;
        out[c + 1] = (int16_t)odd;
    }
}

/* Any other K, bias, channel count or alignment with int16-stored weights. */
static void afkd_depthwise_w16_any(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                                   int16_t *out)
{
    const int32_t channels = p->channels, taps_count = p->taps;
    for (int32_t c = 0; c < channels; c++) {
        int32_t sum = 0;
        for (int32_t k = 0; k < taps_count; k++) {
            sum += (int32_t)taps[k][c] * afkd_dw16_weight(p, k, c);
        }
        const int32_t acc = (p->bias != NULL ? p->bias[c] : 0) + sum;
        out[c] = (int16_t)afkd_clamp(afkd_smmulr(acc, p->multiplier32[c]), p->act_min, p->act_max);
    }
}

/* Whether afkd_depthwise3_w16 may run: the shape and alignment it assumes. */
static int afkd_depthwise3_w16_fits(const afkd_depthwise_s16_params *p, const int16_t *const *taps)
{
    return p->weights16 != NULL && p->taps == 3 && p->bias != NULL && (p->channels & 1) == 0 &&
           (((uintptr_t)taps[0] | (uintptr_t)taps[1] | (uintptr_t)taps[2]) & 3u) == 0u;
}

void afkd_depthwise_s16(const afkd_depthwise_s16_params *p, const int16_t *const *taps,
                        int16_t *out)
{
#if AFKD_DEPTHWISE16_ASM
    /* The exported layers' case first (afkd_depthwise3_w16_fits and the full output range). */
    if (p->weights16 != NULL && p->taps == 3 && p->bias != NULL && p->multiplier32 != NULL &&
        (p->channels & 1) == 0 && p->act_min == -32768 && p->act_max == 32767) {
        const int16_t *const t0 = taps[0], *const t1 = taps[1], *const t2 = taps[2];
        if ((((uintptr_t)t0 | (uintptr_t)t1 | (uintptr_t)t2 | (uintptr_t)p->weights16) & 3u) == 0u) {
            afkd_depthwise16_k3_full(p->weights16, t0, t1, t2, p->bias, p->multiplier32, out, p->channels >> 1);
            return;
        }
    }
#endif
    if (!AFKD_S16_TAPS_OTHER_LAYOUTS || p->weights16 != NULL) {  /* given only with multiplier32 (int32 sums) */
        if (afkd_depthwise3_w16_fits(p, taps)) {
            if (p->act_min == -32768 && p->act_max == 32767) {
                afkd_depthwise3_w16(p, taps, out, 1);
            } else {
                afkd_depthwise3_w16(p, taps, out, 0);
            }
        } else {
            afkd_depthwise_w16_any(p, taps, out);
        }
        return;
    }
    if (p->bias64 == NULL && p->taps == 3) { /* the network's kernel size */
        if (p->multiplier32 == NULL) {
            afkd_depthwise3_s16(p, taps, out, p->bias != NULL, 0);
        } else if (p->bias != NULL) {
            afkd_depthwise3_s16(p, taps, out, 1, 1);
        } else {
            afkd_depthwise3_s16(p, taps, out, 0, 1);
        }
        return;
    }
    const int32_t channels = p->channels, taps_count = p->taps;
    for (int32_t c = 0; c < channels; c++) {
        int32_t sum = 0;
        for (int32_t k = 0; k < taps_count; k++) {
            sum += (int32_t)taps[k][c] * p->weights[k * channels + c];
        }
        int32_t y;
        if (p->bias64 != NULL) {
            y = afkd_requantize16_wide(p->bias64[c] + sum, p->multiplier[c], p->shift[c]);
        } else if (p->multiplier32 != NULL) {
            y = afkd_smmulr((p->bias != NULL ? p->bias[c] : 0) + sum, p->multiplier32[c]);
        } else {
            y = afkd_requantize16((p->bias != NULL ? p->bias[c] : 0) + sum, p->multiplier[c], p->shift[c]);
        }
        out[c] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
}

/* Which fused routine takes the leaky form q (afkd_depthwise16_m4.h), or -1. */
static int afkd_depthwise_leaky_form(const afkd_leaky_relu_params *q)
{
    if (q->fast == 1 && q->fast_neg_whole <= 1) {
        return (int)q->fast_neg_whole;  /* 0, 1: same scale */
    }
    if (q->fast == 2 && q->fast_neg_whole == 0 && (q->fast_pos_whole == 1 || q->fast_pos_whole == 2)) {
        return 1 + (int)q->fast_pos_whole;  /* 2, 3 */
    }
    if (q->fast == 2 && q->fast_neg_whole == 1 && q->fast_pos_whole == 1) {
        return 4;
    }
    return -1;
}

void afkd_depthwise_leaky_s16(const afkd_depthwise_s16_params *p, const afkd_leaky_relu_params *q,
                              const int16_t *const *taps, int16_t *scratch, int16_t *out)
{
#if AFKD_DEPTHWISE16_ASM
    /* The layer's layout is the exporter's to check (afkd_kernels.h); the form and the frames'
     * alignment are tested here. */
    const int form = afkd_depthwise_leaky_form(q);
    if (form >= 0 && (((uintptr_t)taps[0] | (uintptr_t)taps[1] | (uintptr_t)taps[2]) & 3u) == 0u) {
        switch (form) {
        case 0: afkd_depthwise16_k3_leaky_same0(p, taps, out, q); break;
        case 1: afkd_depthwise16_k3_leaky_same1(p, taps, out, q); break;
        case 2: afkd_depthwise16_k3_leaky_pos1(p, taps, out, q); break;
        case 3: afkd_depthwise16_k3_leaky_pos2(p, taps, out, q); break;
        default: afkd_depthwise16_k3_leaky_neg1_pos1(p, taps, out, q); break;
        }
        return;
    }
#else
    (void)afkd_depthwise_leaky_form;
#endif
    afkd_depthwise_s16(p, taps, scratch);
    afkd_leaky_relu_s16(q, scratch, out, p->channels);
}
