/*
 * afkd_out_stage_s8.h - internal: the int8 dense output stage (TFLite's per-channel
 * requantization, clamp and output zero point), shared by the dense kernel (afkd_dense_s8.h)
 * and its sparse-weight twin (afkd_dense_sparse_s8.c), so both finish every sum the same way.
 */
#ifndef AFKD_OUT_STAGE_S8_H
#define AFKD_OUT_STAGE_S8_H

#include "afkd_kernels.h"
#include "afkd_requant.h"

/* The per-row output stage, with the parameters held in locals: stores through int8_t
 * pointers may alias anything, so reading p-> fields here would reload them every row. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t output_offset, act_min, act_max;
} afkd_out_stage_s8;

static inline int8_t afkd_finish_s8(const afkd_out_stage_s8 *o, int32_t r, int32_t acc)
{
    const int32_t y = afkd_requantize(acc, o->multiplier[r], o->shift[r]) + o->output_offset;
    return (int8_t)afkd_clamp(y, o->act_min, o->act_max);
}

/*
 * The output stage when requant_32bit is set: |acc * 2^left_shift| < 2^30, so
 * DoublingHighMul = SMMULR of the doubled value and RoundingDivideByPOT(h, e) =
 * (h + 2^(e-1) - [h < 0]) >> e (e >= 1; afkd_requant.h), about half the instructions.
 */
static inline int8_t afkd_finish_s8_32(const afkd_out_stage_s8 *o, int32_t r, int32_t acc)
{
    const int32_t shift = o->shift[r];
    int32_t y;
    if (shift > 0) {
        y = afkd_smmulr(afkd_shl(acc, shift + 1), o->multiplier[r]);
    } else {
        const int32_t down = -shift;
        const int32_t high = afkd_smmulr(afkd_shl(acc, 1), o->multiplier[r]);
        y = down > 0 ? (high + (1 << (down - 1)) + (high >> 31)) >> down : high;
    }
    return (int8_t)afkd_clamp(y + o->output_offset, o->act_min, o->act_max);
}

/*
 * requant_32bit == AFKD_REQUANT_32BIT_RIGHT: as afkd_finish_s8_32, and every row's shift is
 * negative (the exporter checked), so the left shift is the doubling alone and the rounding
 * right shift always applies: no branch per row (afkd_requant_right).
 */
static inline int8_t afkd_finish_s8_right(const afkd_out_stage_s8 *o, int32_t r, int32_t acc)
{
    const int32_t y = afkd_requant_right(acc, o->multiplier[r], -o->shift[r]);
    return (int8_t)afkd_clamp(y + o->output_offset, o->act_min, o->act_max);
}

/* fast: the layer's requant_32bit (0 to AFKD_REQUANT_32BIT_RIGHT_FULL); a constant where inlined. */
static inline int8_t afkd_finish_any_s8(const afkd_out_stage_s8 *o, int32_t r, int32_t acc, int fast)
{
    if (fast == AFKD_REQUANT_32BIT_RIGHT_FULL) { /* the clamp is the int8 range itself */
        const int32_t y = afkd_requant_right(acc, o->multiplier[r], -o->shift[r]);
        return (int8_t)afkd_saturate8(y + o->output_offset);
    }
    if (fast == AFKD_REQUANT_32BIT_RIGHT) {
        return afkd_finish_s8_right(o, r, acc);
    }
    return fast ? afkd_finish_s8_32(o, r, acc) : afkd_finish_s8(o, r, acc);
}

#endif /* AFKD_OUT_STAGE_S8_H */
