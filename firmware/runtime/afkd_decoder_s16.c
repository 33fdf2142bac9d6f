/*
 * afkd_decoder_s16.c - 16x8 streaming transpose conv1d (N channels -> 1, kernel L,
 * stride S): TFLite's reference TRANSPOSE_CONV with int16 input accumulates in an int64
 * scratch, adds the int64 bias once per output position and uses the int64 requant.
 *   tail[k] += sum_c x[c] * w[k][c]   (input zero point is 0 in 16x8)
 * The [L][N] weights are packed like a dense layer's (rows = L taps, cols = N; afkd_dot.h),
 * as int8 bytes or (weights16, the exported default) as int16.
 */
#include <stdint.h>
#include <string.h>

#include "afkd_dense16_m4.h"
#include "afkd_dot.h"
#include "afkd_kernels.h"
#include "afkd_requant.h"

void afkd_decoder_s16(const afkd_decoder_s16_params *p, const int16_t *frame, int64_t *tail,
                      int16_t *out)
{
    const int32_t n = p->channels, kernel = p->kernel, stride = p->stride;
    const int32_t blocks = n >> 2, rem = n & 3, chunk_blocks = AFKD_S16_CHUNK / 4;
    int32_t k = 0;
    const int weights16 = !AFKD_S16_TAPS_OTHER_LAYOUTS || p->weights16 != NULL;
    if (weights16 && rem == 0 && blocks <= chunk_blocks && ((uintptr_t)frame & 3u) == 0u && (kernel & 3) == 0) {
        /* The int16-stored taps (the exported layout): 4 taps per pass of the LDRD/SMLAD loop;
         * n <= AFKD_S16_CHUNK keeps each int32 sum exact. */
        const int16_t *w16 = p->weights16;
        for (; k < kernel; k += 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            w16 = afkd_rows4_w16_aligned(w16, frame, blocks, &a0, &a1, &a2, &a3);
            tail[k] += a0;
            tail[k + 1] += a1;
            tail[k + 2] += a2;
            tail[k + 3] += a3;
        }
    } else if (weights16) {
        const int16_t *w16 = p->weights16;  /* any other shape: the same layout, read plainly */
        for (; k + 4 <= kernel; k += 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int32_t b = 0; b < blocks; b += chunk_blocks) {
                const int32_t end = blocks - b < chunk_blocks ? blocks : b + chunk_blocks;
                int32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
                w16 = afkd_rows4_w16(w16, frame + 4 * b, end - b, &c0, &c1, &c2, &c3);
                tail[k] += c0;
                tail[k + 1] += c1;
                tail[k + 2] += c2;
                tail[k + 3] += c3;
            }
            afkd_tail4_w16(w16, frame + 4 * blocks, rem, &a0, &a1, &a2, &a3);
            w16 += 4 * rem;
            tail[k] += a0;
            tail[k + 1] += a1;
            tail[k + 2] += a2;
            tail[k + 3] += a3;
        }
        for (; k < kernel; k++, w16 += n) {
            for (int32_t c = 0; c < n; c += AFKD_S16_CHUNK) {
                const int32_t count = n - c < AFKD_S16_CHUNK ? n - c : AFKD_S16_CHUNK;
                tail[k] += afkd_dot1_w16(w16 + c, frame + c, count);
            }
        }
    }
#if AFKD_S16_TAPS_OTHER_LAYOUTS  /* int8-stored taps (after the branches above, k == kernel for int16 ones) */
    const int8_t *w = p->weights;
    /* Four taps at a time from the packed [L][N] weights: int32 sums of at most
     * AFKD_S16_CHUNK products (< 2^30, exact), added into the int64 tail. */
    for (; k + 4 <= kernel; k += 4) {
        const int16_t *x = frame;
        for (int32_t b = 0; b < blocks; b += chunk_blocks) {
            const int32_t end = blocks - b < chunk_blocks ? blocks : b + chunk_blocks;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int32_t j = b; j < end; j++, w += 16, x += 4) {
                afkd_block4_s16(w, x, &a0, &a1, &a2, &a3);
            }
            tail[k] += a0;
            tail[k + 1] += a1;
            tail[k + 2] += a2;
            tail[k + 3] += a3;
        }
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        afkd_tail4_s16(w, x, rem, &a0, &a1, &a2, &a3);
        w += 4 * rem;
        tail[k] += a0;
        tail[k + 1] += a1;
        tail[k + 2] += a2;
        tail[k + 3] += a3;
    }
    for (; k < kernel; k++, w += n) { /* single packed rows */
        for (int32_t b = 0; b < blocks; b += chunk_blocks) {
            const int32_t count = blocks - b < chunk_blocks ? blocks - b : chunk_blocks;
            tail[k] += afkd_dot1_packed_s16(w + 4 * b, frame + 4 * b, count, 0);
        }
        tail[k] += afkd_dot1_packed_s16(w + 4 * blocks, frame + 4 * blocks, 0, rem);
    }
#endif
    for (int32_t s = 0; s < stride; s++) {
        const int32_t y = afkd_requantize64(tail[s] + p->bias, p->multiplier, p->shift);
        out[s] = (int16_t)afkd_clamp(y, p->act_min, p->act_max);
    }
    memmove(tail, tail + stride, (size_t)(kernel - stride) * sizeof *tail);
    memset(tail + (kernel - stride), 0, (size_t)stride * sizeof *tail);
}

void afkd_decoder_s16_tail32(const afkd_decoder_s16_params *p, const int16_t *frame, int32_t *tail,
                             int16_t *out)
{
    const int32_t n = p->channels, kernel = p->kernel, stride = p->stride, blocks = n >> 2, rem = n & 3;
    const int16_t *w16 = p->weights16;
#if AFKD_DENSE16_ASM
    if (rem == 0 && n > 0 && n <= 64 && (kernel & 3) == 0 && kernel > 0 &&
        (((uintptr_t)frame | (uintptr_t)w16) & 3u) == 0u) {  /* the exported shape: one assembly call */
        afkd_dense16_groups_accumulate(tail, w16, frame, kernel >> 2, blocks);
    } else
#endif
    {
        int32_t k = 0;
        for (; k + 4 <= kernel; k += 4) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            w16 = afkd_rows4_w16(w16, frame, blocks, &a0, &a1, &a2, &a3);
            afkd_tail4_w16(w16, frame + 4 * blocks, rem, &a0, &a1, &a2, &a3);
            w16 += 4 * rem;
            tail[k] += a0;
            tail[k + 1] += a1;
            tail[k + 2] += a2;
            tail[k + 3] += a3;
        }
        for (; k < kernel; k++, w16 += n) {
            tail[k] += afkd_dot1_w16(w16, frame, n);
        }
    }
    const int32_t bias = (int32_t)p->bias, m32 = p->multiplier32, lo = p->act_min, hi = p->act_max;
    for (int32_t s = 0; s < stride; s++) {
        out[s] = (int16_t)afkd_clamp(afkd_smmulr(tail[s] + bias, m32), lo, hi);
    }
    memmove(tail, tail + stride, (size_t)(kernel - stride) * sizeof *tail);
    memset(tail + (kernel - stride), 0, (size_t)stride * sizeof *tail);
}
