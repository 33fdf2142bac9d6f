/*
 * afkd_dense16_m4.h - internal: the 16x8 1x1/encoder layer with int16-stored weights as one
 * Cortex-M4 assembly routine, for the shape afkd layers have (rows and cols multiples of 4,
 * cols <= 64, a bias, SMMULR multipliers, word-aligned input; afkd_dense_s16.h checks).
 *
 * Why assembly: in C the group loop needs more live values than the core has registers
 * (4 sums, 2 input words, 4 weight words, 5 pointers, 2 counters), so GCC spilled pointers
 * and re-entered the MAC loop for every group: about 40 instructions a group besides the
 * MACs. Here the block loop is unrolled 16 times and entered part-way (a layer with B
 * blocks of 4 columns jumps to block 16 - B, with the input pointer biased so that the
 * block's fixed LDRD offset lands on column 0), the input is addressed with immediate
 * offsets, and only the output pointer lives on the stack: per group of 4 rows, 19
 * instructions besides the 11 per block (LDRD of 4 inputs, 2 LDM of 4 weight words each,
 * 8 SMLAD) -- 107 instead of 136 for 32 columns.
 *
 * Register use inside the loop: r0-r3 the four sums, r4/r5 the input pair, r6 weights,
 * r7 the biased input, r8-r11 weight words (multipliers at the end), r12 bias, lr multipliers.
 *
 * Every routine is aligned(4): the assembler resolves ADR against a 4-aligned PC at assembly
 * time, so a routine that the linker places at 2 mod 4 (GCC aligns functions to 2 bytes at -Os)
 * would enter its body 2 bytes off. noipa keeps GCC from drawing conclusions about a body it
 * cannot see into (a naked function's asm names no operands, clobbers or memory).
 */
#ifndef AFKD_DENSE16_M4_H
#define AFKD_DENSE16_M4_H

#include "afkd_dot.h"

#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
#define AFKD_DENSE16_MAX_BLOCKS 16
#define AFKD_DENSE16_BLOCK_BYTES 44 /* LDRD + 2 LDM.W + 8 SMLAD, all 32-bit encodings */

/* One block of 4 columns for the 4 rows; \k is its place in the unrolled body. */
#define AFKD_DENSE16_BLOCK                      \
    "ldrd   r4, r5, [r7, #(8 * \\k)]\n\t"       \
    "ldmia.w r6!, {r8, r9, r10, r11}\n\t"       \
    "smlad  r0, r8, r4, r0\n\t"                 \
    "smlad  r0, r9, r5, r0\n\t"                 \
    "smlad  r1, r10, r4, r1\n\t"                \
    "smlad  r1, r11, r5, r1\n\t"                \
    "ldmia.w r6!, {r8, r9, r10, r11}\n\t"       \
    "smlad  r2, r8, r4, r2\n\t"                 \
    "smlad  r2, r9, r5, r2\n\t"                 \
    "smlad  r3, r10, r4, r3\n\t"                \
    "smlad  r3, r11, r5, r3\n\t"

/*
 * void f(const int32_t *bias, const int16_t *w, const int16_t *x, int16_t *out,
 *        const int32_t *multiplier32, int32_t groups, int32_t blocks)
 * SATURATE is the output clamp of one sum in rN: SSAT #16 (int16) or USAT #15 (ReLU).
 * Stack after the push and 12 bytes of locals: [sp] body entry, [sp, #4] out, [sp, #8] out end,
 * [sp, #48] multiplier32, [sp, #52] groups, [sp, #56] blocks.
 */
#define AFKD_DENSE16_GROUPS_ASM(SATURATE)                                               \
    "push   {r4-r11, lr}\n\t"                                                           \
    "sub    sp, sp, #12\n\t"                                                            \
    "ldr    r8, [sp, #56]\n\t"             /* blocks */                                 \
    "ldr    r9, [sp, #52]\n\t"             /* groups */                                 \
    "adr.w  r10, 2f\n\t"                                                                \
    "movs   r11, #" AFKD_DENSE16_STR(AFKD_DENSE16_BLOCK_BYTES) "\n\t"                   \
    "mls    r10, r8, r11, r10\n\t"         /* entry = end - blocks * 44 */              \
    "orr    r10, r10, #1\n\t"              /* a Thumb address for LDR PC */             \
    "str    r10, [sp]\n\t"                                                              \
    "str    r3, [sp, #4]\n\t"                                                           \
    "add    r9, r3, r9, lsl #3\n\t"        /* 8 bytes of output per group */            \
    "str    r9, [sp, #8]\n\t"                                                           \
    "mov    r12, r0\n\t"                                                                \
    "mov    r6, r1\n\t"                                                                 \
    "add    r7, r2, r8, lsl #3\n\t"        /* x + 8 * (blocks - 16): block 16 - blocks */ \
    "sub    r7, r7, #(8 * " AFKD_DENSE16_STR(AFKD_DENSE16_MAX_BLOCKS) ")\n\t"          \
    "ldr    lr, [sp, #48]\n\t"                                                          \
    "1:\n\t"                                                                            \
    "ldmia  r12!, {r0, r1, r2, r3}\n\t"    /* the group's bias */                       \
    "ldr    pc, [sp]\n\t"                                                               \
    ".irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n\t"                  \
    AFKD_DENSE16_BLOCK                                                                  \
    ".endr\n\t"                                                                         \
    "2:\n\t"                                                                            \
    "ldmia.w lr!, {r8, r9, r10, r11}\n\t"  /* the group's multipliers */                \
    "smmulr r0, r0, r8\n\t"                                                             \
    "smmulr r1, r1, r9\n\t"                                                             \
    "smmulr r2, r2, r10\n\t"                                                            \
    "smmulr r3, r3, r11\n\t"                                                            \
    SATURATE("r0") SATURATE("r1") SATURATE("r2") SATURATE("r3")                        \
    "pkhbt  r4, r0, r1, lsl #16\n\t"                                                    \
    "pkhbt  r5, r2, r3, lsl #16\n\t"                                                    \
    "ldr    r8, [sp, #4]\n\t"                                                           \
    "stmia  r8!, {r4, r5}\n\t"                                                          \
    "str    r8, [sp, #4]\n\t"                                                           \
    "ldr    r9, [sp, #8]\n\t"                                                           \
    "cmp    r8, r9\n\t"                                                                 \
    "bne    1b\n\t"                                                                     \
    "add    sp, sp, #12\n\t"                                                            \
    "pop    {r4-r11, pc}\n\t"

#define AFKD_DENSE16_STR_(x) #x
#define AFKD_DENSE16_STR(x) AFKD_DENSE16_STR_(x)
#define AFKD_DENSE16_SSAT16(r) "ssat   " r ", #16, " r "\n\t"
#define AFKD_DENSE16_USAT15(r) "usat   " r ", #15, " r "\n\t"

/* groups >= 1 and 1 <= blocks <= 16 (the caller checks). The body reads the arguments from
 * r0-r3 and the stack itself (AAPCS), which GCC cannot see in a naked function. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_dense16_groups_full(const int32_t *bias, const int16_t *w,
                                                                      const int16_t *x, int16_t *out,
                                                                      const int32_t *multiplier32, int32_t groups,
                                                                      int32_t blocks)
{
    __asm__ volatile(AFKD_DENSE16_GROUPS_ASM(AFKD_DENSE16_SSAT16));
}

__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_dense16_groups_relu(const int32_t *bias, const int16_t *w,
                                                                      const int16_t *x, int16_t *out,
                                                                      const int32_t *multiplier32, int32_t groups,
                                                                      int32_t blocks)
{
    __asm__ volatile(AFKD_DENSE16_GROUPS_ASM(AFKD_DENSE16_USAT15));
}

/* The accumulate routines' body for a block macro BLOCK of BLOCK_BYTES bytes (see below). */
#define AFKD_DENSE16_ACCUMULATE_ASM(BLOCK, BLOCK_BYTES)                                   \
    "push   {r4-r11, lr}\n\t"                                                           \
    "sub    sp, sp, #8\n\t"                                                             \
    "ldr    r8, [sp, #44]\n\t"                                                          \
    "adr.w  r10, 2f\n\t"                                                                \
    "movs   r11, #" AFKD_DENSE16_STR(BLOCK_BYTES) "\n\t"                                \
    "mls    r10, r8, r11, r10\n\t"                                                      \
    "orr    r10, r10, #1\n\t"                                                           \
    "str    r10, [sp]\n\t"                                                              \
    "add    r9, r0, r3, lsl #4\n\t"       /* 16 bytes of sums per group */              \
    "str    r9, [sp, #4]\n\t"                                                           \
    "mov    r12, r0\n\t"                                                                \
    "mov    r6, r1\n\t"                                                                 \
    "add    r7, r2, r8, lsl #3\n\t"                                                     \
    "sub    r7, r7, #(8 * " AFKD_DENSE16_STR(AFKD_DENSE16_MAX_BLOCKS) ")\n\t"          \
    "1:\n\t"                                                                            \
    "ldmia  r12, {r0, r1, r2, r3}\n\t"    /* the group's running sums */                \
    "ldr    pc, [sp]\n\t"                                                               \
    ".irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n\t"                  \
    BLOCK                                                                               \
    ".endr\n\t"                                                                         \
    "2:\n\t"                                                                            \
    "stmia  r12!, {r0, r1, r2, r3}\n\t"                                                 \
    "ldr    r4, [sp, #4]\n\t"                                                           \
    "cmp    r12, r4\n\t"                                                                \
    "bne    1b\n\t"                                                                     \
    "add    sp, sp, #8\n\t"                                                             \
    "pop    {r4-r11, pc}\n\t"

/*
 * void f(int32_t *sums, const int16_t *w, const int16_t *x, int32_t groups, int32_t blocks)
 * sums[r] += w[r] . x for groups * 4 rows, no bias or output stage: the 16x8 decoder's
 * overlap-add tail (afkd_decoder_s16_tail32). Stack after the push and 8 bytes of locals:
 * [sp] body entry, [sp, #4] end of the sums, [sp, #44] blocks.
 */
__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_dense16_groups_accumulate(int32_t *sums, const int16_t *w,
                                                                                    const int16_t *x, int32_t groups,
                                                                                    int32_t blocks)
{
    __asm__ volatile(AFKD_DENSE16_ACCUMULATE_ASM(AFKD_DENSE16_BLOCK, AFKD_DENSE16_BLOCK_BYTES));
}

/*
 * The same layer with int8-stored weights (--weight-storage int8; packed 4 rows at a time with
 * each row's 4 bytes as (w0, w2, w1, w3), export/intops_pack.py). Per block of 4 columns:
 * the input pair, two LDRD of two rows' weight words each, and per row SXTB16 [w0 w1] and
 * SXTB16 ROR 8 [w2 w3] against the input words [x0 x1] and [x2 x3]: 19 instructions for 16
 * MACs, every one a 32-bit encoding (76 bytes, so the computed entry works as above).
 * One body serves both clamps: the relu bit of r11 picks SSAT #16 or USAT #15 after the multipliers,
 * two instructions a group, where a second routine would cost 1.3 KB of flash, and flash is
 * what int8 storage is chosen for.
 * Register use: r0-r3 sums, r4/r5 input pair (multipliers at the end, with r8/r9), r6 weights,
 * r7 biased input, r8-r10 weight words and the SXTB16 temporary, r11 mode, r12 bias, lr
 * multipliers.
 */
#define AFKD_DENSE16_W8_BLOCK_BYTES 76
#define AFKD_DENSE16_W8_HAS_BIAS 32

static const int32_t afkd_dense16_w8_zero_bias[4] __attribute__((unused)) = {0, 0, 0, 0};

#define AFKD_DENSE16_W8_ROWS(A, B)               \
    "ldrd   r8, r9, [r6], #8\n\t"                \
    "sxtb16 r10, r8\n\t"                         \
    "smlad  " A ", r10, r4, " A "\n\t"           \
    "sxtb16 r8, r8, ror #8\n\t"                  \
    "smlad  " A ", r8, r5, " A "\n\t"            \
    "sxtb16 r10, r9\n\t"                         \
    "smlad  " B ", r10, r4, " B "\n\t"           \
    "sxtb16 r9, r9, ror #8\n\t"                  \
    "smlad  " B ", r9, r5, " B "\n\t"

#define AFKD_DENSE16_W8_BLOCK                    \
    "ldrd   r4, r5, [r7, #(8 * \\k)]\n\t"        \
    AFKD_DENSE16_W8_ROWS("r0", "r1")             \
    AFKD_DENSE16_W8_ROWS("r2", "r3")

/*
 * void f(const int32_t *bias, const int8_t *w, const int16_t *x, int16_t *out,
 *        const int32_t *multiplier32, int32_t groups, int32_t blocks, int32_t mode)
 * mode = 32 * (bias is an array of 4 * groups sums) + relu; a layer without a bias passes four
 * zeros (afkd_dense16_w8_zero_bias) and mode & 32 clear, so the bias pointer stays put.
 * Stack after the push and 12 bytes of locals: [sp] body entry, [sp, #4] out, [sp, #8] out end,
 * [sp, #48] multiplier32, [sp, #52] groups, [sp, #56] blocks, [sp, #60] mode.
 */
__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_dense16_w8_groups(const int32_t *bias, const int8_t *w,
                                                                   const int16_t *x, int16_t *out,
                                                                   const int32_t *multiplier32, int32_t groups,
                                                                   int32_t blocks, int32_t mode)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #12\n\t"
        "ldr    r8, [sp, #56]\n\t"             /* blocks */
        "ldr    r9, [sp, #52]\n\t"             /* groups */
        "ldr    r11, [sp, #60]\n\t"            /* mode: 32 * has_bias + relu */
        "adr.w  r10, 2f\n\t"
        "movs   r4, #" AFKD_DENSE16_STR(AFKD_DENSE16_W8_BLOCK_BYTES) "\n\t"
        "mls    r10, r8, r4, r10\n\t"          /* entry = end - blocks * 76 */
        "orr    r10, r10, #1\n\t"
        "str    r10, [sp]\n\t"
        "str    r3, [sp, #4]\n\t"
        "add    r9, r3, r9, lsl #3\n\t"        /* 8 bytes of output per group */
        "str    r9, [sp, #8]\n\t"
        "mov    r12, r0\n\t"
        "mov    r6, r1\n\t"
        "add    r7, r2, r8, lsl #3\n\t"        /* x + 8 * (blocks - 16): block 16 - blocks */
        "sub    r7, r7, #(8 * " AFKD_DENSE16_STR(AFKD_DENSE16_MAX_BLOCKS) ")\n\t"
        "ldr    lr, [sp, #48]\n\t"
        "1:\n\t"
        "ldmia  r12, {r0, r1, r2, r3}\n\t"     /* the group's bias, or the four zeros */
        "add    r12, r12, r11, lsr #1\n\t"     /* 16 bytes on with a bias, none without */
        "ldr    pc, [sp]\n\t"
        ".irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n\t"
        AFKD_DENSE16_W8_BLOCK
        ".endr\n\t"
        "2:\n\t"
        "ldmia.w lr!, {r4, r5, r8, r9}\n\t"
        "smmulr r0, r0, r4\n\t"
        "smmulr r1, r1, r5\n\t"
        "smmulr r2, r2, r8\n\t"
        "smmulr r3, r3, r9\n\t"
        "tst    r11, #1\n\t"
        "bne    4f\n\t"
        AFKD_DENSE16_SSAT16("r0") AFKD_DENSE16_SSAT16("r1") AFKD_DENSE16_SSAT16("r2") AFKD_DENSE16_SSAT16("r3")
        "b      5f\n\t"
        "4:\n\t"
        AFKD_DENSE16_USAT15("r0") AFKD_DENSE16_USAT15("r1") AFKD_DENSE16_USAT15("r2") AFKD_DENSE16_USAT15("r3")
        "5:\n\t"
        "pkhbt  r4, r0, r1, lsl #16\n\t"
        "pkhbt  r5, r2, r3, lsl #16\n\t"
        "ldr    r8, [sp, #4]\n\t"
        "stmia  r8!, {r4, r5}\n\t"
        "str    r8, [sp, #4]\n\t"
        "ldr    r9, [sp, #8]\n\t"
        "cmp    r8, r9\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #12\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/*
 * void f(int32_t *sums, const int8_t *w, const int16_t *x, int32_t groups, int32_t blocks)
 * sums[r] += w[r] . x with int8-stored weights, no output stage: the int8 model's 1x1 layers
 * with int8-stored weights (afkd_dense_s8.h), whose weights keep their plain (w0, w1, w2, w3)
 * order; the caller widens the input block-wise to [x0 x2 x1 x3], which pairs with the SXTB16
 * halves [w0 w2] and [w1 w3] as the (w0, w2, w1, w3) order pairs with [x0 x1 x2 x3]: the same
 * block either way. Stack as in afkd_dense16_groups_accumulate.
 */
__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_dense16_w8_groups_accumulate(int32_t *sums, const int8_t *w,
                                                                              const int16_t *x, int32_t groups,
                                                                              int32_t blocks)
{
    __asm__ volatile(AFKD_DENSE16_ACCUMULATE_ASM(AFKD_DENSE16_W8_BLOCK, AFKD_DENSE16_W8_BLOCK_BYTES));
}
#pragma GCC diagnostic pop

#define AFKD_DENSE16_ASM 1
#else
#define AFKD_DENSE16_ASM 0
#endif

#endif /* AFKD_DENSE16_M4_H */
