/*
 * afkd_dense_s8.h - internal: the int8 matrix-vector product behind the pointwise conv and
 * the encoder (TFLite reference_integer_ops::ConvPerChannel for a 1-wide output), with the
 * weights packed 4 rows at a time (afkd_dot.h, export/intops_pack.py).
 *   acc[r] = bias[r] + sum_k w[r][k] * x[k]        (bias already holds input_offset terms)
 *   out[r] = clamp(requant(acc[r], m[r], s[r]) + output_offset, act_min, act_max)
 * No overflow: |w*x| <= 2^14 and cols <= 2^16 give |sum| <= 2^30, and TFLite keeps the
 * same int32 accumulator with the same terms, so any overflow would be TFLite's too.
 */
#ifndef AFKD_DENSE_S8_H
#define AFKD_DENSE_S8_H

#include "afkd_dense16_m4.h"
#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_out_stage_s8.h"
#include "afkd_requant.h"

/* fast is a constant at both call sites (afkd_dense_s8), so each gets its own loop. */
__attribute__((always_inline)) static inline void afkd_dense_s8_rows(const afkd_dense_s8_params *p, const int8_t *x, int8_t *out,
                                      int fast)
{
    const afkd_out_stage_s8 o = {p->multiplier, p->shift, p->output_offset, p->act_min,
                                 p->act_max};
    const int32_t cols = p->cols, rows = p->rows, blocks = cols >> 2, rem = cols & 3;
    const int8_t *w = p->weights;   /* packed: groups of 4 rows, then single plain rows */
    const int32_t *bias = p->bias;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        const int8_t *xp = x;
        for (int32_t j = 0; j < blocks; j++, w += 16, xp += 4) {
            afkd_block4_s8(w, xp, &a0, &a1, &a2, &a3);
        }
        afkd_tail4_s8(w, xp, rem, &a0, &a1, &a2, &a3);
        w += 4 * rem;
        out[r] = afkd_finish_any_s8(&o, r, a0, fast);
        out[r + 1] = afkd_finish_any_s8(&o, r + 1, a1, fast);
        out[r + 2] = afkd_finish_any_s8(&o, r + 2, a2, fast);
        out[r + 3] = afkd_finish_any_s8(&o, r + 3, a3, fast);
    }
    for (; r < rows; r++, w += cols) {
        out[r] = afkd_finish_any_s8(&o, r, bias[r] + afkd_dot_s8(w, x, cols), fast);
    }
}

/* Longest input frame the int16-weight path widens on the stack (512 bytes); longer frames
 * fall back to the int8 layout's loop over the same int16 weights (afkd_dense_s8_w16_any). */
#define AFKD_S8_WIDEN_MAX 256
/* Most output rows whose int32 sums the assembly path keeps on the stack (512 bytes). */
#define AFKD_S8_SUMS_MAX 128

#if AFKD_DENSE16_ASM
/*
 * The output stage over a layer's int32 sums (the assembly paths below): one loop per requant
 * form, so the per-row work is the form's alone (afkd_out_stage_s8.h); shared by both paths.
 */
__attribute__((noinline)) static void afkd_finish_sums_s8(const afkd_dense_s8_params *p, const int32_t *sums,
                                                         int8_t *out)
{
    const afkd_out_stage_s8 o = {p->multiplier, p->shift, p->output_offset, p->act_min,
                                 p->act_max};
    const int32_t rows = p->rows;
    switch (p->requant_32bit) {
    case AFKD_REQUANT_32BIT_RIGHT_FULL:
        for (int32_t r = 0; r < rows; r++) {
            out[r] = afkd_finish_any_s8(&o, r, sums[r], AFKD_REQUANT_32BIT_RIGHT_FULL);
        }
        break;
    case AFKD_REQUANT_32BIT_RIGHT:
        for (int32_t r = 0; r < rows; r++) {
            out[r] = afkd_finish_any_s8(&o, r, sums[r], AFKD_REQUANT_32BIT_RIGHT);
        }
        break;
    case 0:
        for (int32_t r = 0; r < rows; r++) {
            out[r] = afkd_finish_any_s8(&o, r, sums[r], 0);
        }
        break;
    default:
        for (int32_t r = 0; r < rows; r++) {
            out[r] = afkd_finish_any_s8(&o, r, sums[r], 1);
        }
        break;
    }
}
#endif

/* int16-stored weights: x widened to int16 once per call, then the 16x8 kernels' LDM/SMLAD
 * group loop; the int8 output stage as above. fast (32-bit requant or not) is a constant at
 * each call site. */
__attribute__((always_inline)) static inline void afkd_dense_s8_w16(const afkd_dense_s8_params *p, const int8_t *x,
                                                                   int8_t *out, int fast)
{
    const afkd_out_stage_s8 o = {p->multiplier, p->shift, p->output_offset, p->act_min,
                                 p->act_max};
    const int32_t cols = p->cols, rows = p->rows, blocks = cols >> 2;
    int16_t wide[AFKD_S8_WIDEN_MAX] __attribute__((aligned(4)));
    for (int32_t k = 0; k < cols; k++) {
        wide[k] = x[k];
    }
#if AFKD_DENSE16_ASM
    /* The MACs through the 16x8 layer's assembly (afkd_dense16_groups_accumulate: the input is
     * int16 now, the weights int16), 11 instructions per 16 MACs and 8 a group, into int32 sums
     * that start at the bias; then the int8 output stage per row. The C group loop below needs
     * about twice the instructions, mostly spills. */
    if (cols <= 4 * AFKD_DENSE16_MAX_BLOCKS && rows <= AFKD_S8_SUMS_MAX) {
        int32_t sums[AFKD_S8_SUMS_MAX];
        memcpy(sums, p->bias, (size_t)rows * sizeof sums[0]);
        afkd_dense16_groups_accumulate(sums, p->weights16, wide, rows >> 2, blocks);
        afkd_finish_sums_s8(p, sums, out);
        return;
    }
#endif
    const int16_t *w = p->weights16;
    const int32_t *bias = p->bias;
    for (int32_t r = 0; r < rows; r += 4) {
        int32_t a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
        w = afkd_rows4_w16_aligned(w, wide, blocks, &a0, &a1, &a2, &a3);
        out[r] = afkd_finish_any_s8(&o, r, a0, fast);
        out[r + 1] = afkd_finish_any_s8(&o, r + 1, a1, fast);
        out[r + 2] = afkd_finish_any_s8(&o, r + 2, a2, fast);
        out[r + 3] = afkd_finish_any_s8(&o, r + 3, a3, fast);
    }
}

/* int16-stored weights in any other shape: plain C over the same layout. */
__attribute__((noinline)) static void afkd_dense_s8_w16_any(const afkd_dense_s8_params *p, const int8_t *x,
                                                            int8_t *out)
{
    const afkd_out_stage_s8 o = {p->multiplier, p->shift, p->output_offset, p->act_min,
                                 p->act_max};
    const int32_t cols = p->cols, rows = p->rows, blocks = cols >> 2, rem = cols & 3;
    const int16_t *w = p->weights16;
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        int32_t acc[4];
        for (int32_t i = 0; i < 4; i++) {
            acc[i] = p->bias[r + i];
        }
        for (int32_t j = 0; j < blocks; j++, w += 16) {
            for (int32_t i = 0; i < 4; i++) {
                for (int32_t k = 0; k < 4; k++) {
                    acc[i] += w[4 * i + k] * x[4 * j + k];
                }
            }
        }
        for (int32_t i = 0; i < 4; i++) {
            for (int32_t k = 0; k < rem; k++) {
                acc[i] += w[rem * i + k] * x[4 * blocks + k];
            }
        }
        w += 4 * rem;
        for (int32_t i = 0; i < 4; i++) {
            out[r + i] = afkd_finish_s8(&o, r + i, acc[i]);
        }
    }
    for (; r < rows; r++, w += cols) {
        int32_t acc = p->bias[r];
        for (int32_t k = 0; k < cols; k++) {
            acc += w[k] * x[k];
        }
        out[r] = afkd_finish_s8(&o, r, acc);
    }
}

#if AFKD_DENSE16_ASM
/* Whether the int8-weight assembly path below takes this layer: whole groups and blocks, at most
 * 64 columns and AFKD_S8_SUMS_MAX rows, word-aligned weights (LDRD). */
static inline int afkd_dense_s8_w8_asm_fits(const afkd_dense_s8_params *p)
{
    return p->rows > 0 && p->cols > 0 && ((p->rows | p->cols) & 3) == 0 &&
           p->cols <= 4 * AFKD_DENSE16_MAX_BLOCKS && p->rows <= AFKD_S8_SUMS_MAX &&
           ((uintptr_t)p->weights & 3u) == 0u;
}

/*
 * int8-stored weights (packed plain, 4 rows a group): the input widened block-wise to
 * [x0 x2 x1 x3] (one LDR and two SXTB16 per 4 values), the MACs through the int8-weight
 * accumulate routine (19 instructions per 16 MACs), then the output stage per row. The C group
 * loop (afkd_dense_s8_rows) splits the input again for every group of rows and spills.
 */
__attribute__((noinline)) static void afkd_dense_s8_w8_asm(const afkd_dense_s8_params *p, const int8_t *x,
                                                          int8_t *out)
{
    const int32_t rows = p->rows, blocks = p->cols >> 2;
    int16_t wide[4 * AFKD_DENSE16_MAX_BLOCKS] __attribute__((aligned(8)));
    for (int32_t j = 0; j < blocks; j++) {
        const int32_t v = afkd_load_word(x + 4 * j);
        const int32_t even = __sxtb16(v);          /* [x0 x2] */
        const int32_t odd = afkd_sxtb16_odd(v);    /* [x1 x3] */
        memcpy(wide + 4 * j, &even, sizeof even);
        memcpy(wide + 4 * j + 2, &odd, sizeof odd);
    }
    int32_t sums[AFKD_S8_SUMS_MAX];
    memcpy(sums, p->bias, (size_t)rows * sizeof sums[0]);
    afkd_dense16_w8_groups_accumulate(sums, p->weights, wide, rows >> 2, blocks);
    afkd_finish_sums_s8(p, sums, out);
}
#endif

static inline void afkd_dense_s8(const afkd_dense_s8_params *p, const int8_t *x, int8_t *out)
{
    /* (with AFKD_S8_WEIGHTS16_ONLY every layer has weights16: the int8-weight paths drop out) */
    if (AFKD_S8_WEIGHTS16 && (!AFKD_S8_WEIGHTS8 || p->weights16 != NULL)) {
        if (((p->rows | p->cols) & 3) != 0 || p->cols > AFKD_S8_WIDEN_MAX || ((uintptr_t)p->weights16 & 3u) != 0u) {
            afkd_dense_s8_w16_any(p, x, out);
        } else if (p->requant_32bit) {
            afkd_dense_s8_w16(p, x, out, 1);
        } else {
            afkd_dense_s8_w16(p, x, out, 0);
        }
        return;
    }
#if AFKD_DENSE16_ASM
    if (afkd_dense_s8_w8_asm_fits(p)) {
        afkd_dense_s8_w8_asm(p, x, out);
        return;
    }
#endif
    if (p->requant_32bit) {
        afkd_dense_s8_rows(p, x, out, 1);
    } else {
        afkd_dense_s8_rows(p, x, out, 0);
    }
}

#endif /* AFKD_DENSE_S8_H */
