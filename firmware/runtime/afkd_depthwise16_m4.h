/*
 * afkd_depthwise16_m4.h - internal: the 16x8 depthwise layer of kernel 3 with int16-stored
 * channel-pair weights, a bias, SMMULR multipliers, the full int16 output range and
 * word-aligned frames (every depthwise layer of the exported network) as one Cortex-M4
 * assembly routine. afkd_depthwise_s16.c checks the conditions.
 *
 * Why assembly: the loop keeps three frame pointers, the weight, bias, multiplier and output
 * pointers and eight data words live; GCC spilled and reloaded them, about 29 instructions
 * per channel pair. Here only the end pointer lives on the stack and two pairs run per pass:
 * 18 instructions per pair (LDM of the pair's three weight words, three frame loads, LDRD
 * of two biases, SMLABB/SMLATT for both channels, LDRD of two multipliers, 2 SMMULR,
 * 2 SSAT, PKHBT, one word store) and 3 per pass.
 *
 * Registers: r0 weights, r1-r3 the frames t-2d, t-d and t, r4-r6 weight words, r7/r8 frame
 * words (then multipliers), r9 output, r10/r11 the two sums, r12 bias, lr multipliers.
 */
#ifndef AFKD_DEPTHWISE16_M4_H
#define AFKD_DEPTHWISE16_M4_H

#include <stddef.h>

#include "afkd_dot.h"
#include "afkd_kernels.h"

#if AFKD_USE_DSP && !defined(AFKD_DSP_EMULATION)
/* One channel pair: its three weight words, the frame words (r7 twice: t-2d, then t), two
 * biases, the sums (r10 even channel, r11 odd), two multipliers; the packed outputs in r10
 * (AFKD_DW16_PAIR_ASM stores them through r9). */
#define AFKD_DW16_PAIR_CORE_ASM                 \
    "ldmia  r0!, {r4, r5, r6}\n\t"              \
    "ldr    r7, [r1], #4\n\t"                   \
    "ldr    r8, [r2], #4\n\t"                   \
    "ldrd   r10, r11, [r12], #8\n\t"            \
    "smlabb r10, r7, r4, r10\n\t"               \
    "smlatt r11, r7, r4, r11\n\t"               \
    "ldr    r7, [r3], #4\n\t"                   \
    "smlabb r10, r8, r5, r10\n\t"               \
    "smlatt r11, r8, r5, r11\n\t"               \
    "smlabb r10, r7, r6, r10\n\t"               \
    "smlatt r11, r7, r6, r11\n\t"               \
    "ldrd   r7, r8, [lr], #8\n\t"               \
    "smmulr r10, r10, r7\n\t"                   \
    "smmulr r11, r11, r8\n\t"                   \
    "ssat   r10, #16, r10\n\t"                  \
    "ssat   r11, #16, r11\n\t"                  \
    "pkhbt  r10, r10, r11, lsl #16\n\t"

#define AFKD_DW16_PAIR_ASM AFKD_DW16_PAIR_CORE_ASM "str    r10, [r9], #4\n\t"

/*
 * void f(const int16_t *w, const int16_t *t0, const int16_t *t1, const int16_t *t2,
 *        const int32_t *bias, const int32_t *multiplier32, int16_t *out, int32_t pairs)
 * pairs >= 1. Stack after the push and 4 bytes of locals: [sp] out end, [sp, #40] bias,
 * [sp, #44] multiplier32, [sp, #48] out, [sp, #52] pairs.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter" /* read from r0-r3 and the stack (AAPCS) */
__attribute__((naked, noinline, noipa, unused, aligned(4))) static void afkd_depthwise16_k3_full(const int16_t *w, const int16_t *t0,
                                                                      const int16_t *t1, const int16_t *t2,
                                                                      const int32_t *bias,
                                                                      const int32_t *multiplier32, int16_t *out,
                                                                      int32_t pairs)
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #4\n\t"
        "ldr    r12, [sp, #40]\n\t"
        "ldr    lr, [sp, #44]\n\t"
        "ldr    r9, [sp, #48]\n\t"
        "ldr    r10, [sp, #52]\n\t"
        "add    r11, r9, r10, lsl #2\n\t"  /* 4 bytes of output per pair */
        "str    r11, [sp]\n\t"
        "tst    r10, #1\n\t"               /* an odd count: one pair first */
        "beq    1f\n\t"
        AFKD_DW16_PAIR_ASM
        "1:\n\t"
        "ldr    r4, [sp]\n\t"
        "cmp    r9, r4\n\t"
        "beq    3f\n\t"
        "2:\n\t"                           /* two pairs a pass */
        AFKD_DW16_PAIR_ASM
        AFKD_DW16_PAIR_ASM
        "ldr    r4, [sp]\n\t"
        "cmp    r9, r4\n\t"
        "bne    2b\n\t"
        "3:\n\t"
        "add    sp, sp, #4\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/*
 * The depthwise layer and the LEAKY_RELU after it in one pass (afkd_depthwise_leaky_s16):
 * each packed pair v (r10) goes through the leaky fast form (afkd_kernels.h,
 * afkd_leaky_relu_s16.c) before it is stored, so the depthwise output is never written.
 * One routine per form: NEG the negative branch (SMLAWB/SMLAWT/PKHTB, NEG_WHOLE QADD16s of
 * v), then the positive branch (POS: the same with its constants; same scale: v itself),
 * and SADD16 v + v to set the GE flags of the halves with v >= 0 for SEL.
 * void f(const afkd_depthwise_s16_params *p, const int16_t *const taps[3], int16_t *out,
 *        const afkd_leaky_relu_params *q): the fields are read at the offsets checked below.
 * Stack: [sp] out end, [sp, #4] neg multiplier, [sp, #8] neg round, [sp, #12] pos multiplier,
 * [sp, #16] pos round.
 */
#define AFKD_DW16_LEAKY_ASM(LEAKY)                                                          \
    "push   {r4-r11, lr}\n\t"                                                               \
    "sub    sp, sp, #20\n\t"                                                                \
    "ldrd   r5, r6, [r3, #" AFKD_DW16_STR(AFKD_LEAKY_FAST_NEG_OFFSET) "]\n\t"               \
    "ldrd   r7, r8, [r3, #" AFKD_DW16_STR(AFKD_LEAKY_FAST_POS_OFFSET) "]\n\t"               \
    "strd   r5, r6, [sp, #4]\n\t"                                                           \
    "strd   r7, r8, [sp, #12]\n\t"                                                          \
    "mov    r9, r2\n\t"                                                                     \
    "ldr    r10, [r0, #" AFKD_DW16_STR(AFKD_DW16_CHANNELS_OFFSET) "]\n\t"                   \
    "add    r11, r9, r10, lsl #1\n\t"            /* 2 bytes of output per channel */       \
    "str    r11, [sp]\n\t"                                                                  \
    "ldr    r12, [r0, #" AFKD_DW16_STR(AFKD_DW16_BIAS_OFFSET) "]\n\t"                       \
    "ldr    lr, [r0, #" AFKD_DW16_STR(AFKD_DW16_MULTIPLIER32_OFFSET) "]\n\t"                \
    "ldr    r0, [r0, #" AFKD_DW16_STR(AFKD_DW16_WEIGHTS16_OFFSET) "]\n\t"                   \
    "ldmia  r1, {r1, r2, r3}\n\t"               /* the three frames */                    \
    "tst    r10, #2\n\t"                         /* an odd number of pairs: one first */   \
    "beq    1f\n\t"                                                                         \
    AFKD_DW16_PAIR_CORE_ASM LEAKY "str    r10, [r9], #4\n\t"                                \
    "1:\n\t"                                                                                \
    "ldr    r4, [sp]\n\t"                                                                   \
    "cmp    r9, r4\n\t"                                                                     \
    "beq    3f\n\t"                                                                         \
    "2:\n\t"                                                 /* two pairs a pass */         \
    AFKD_DW16_PAIR_CORE_ASM LEAKY "str    r10, [r9], #4\n\t"                                \
    AFKD_DW16_PAIR_CORE_ASM LEAKY "str    r10, [r9], #4\n\t"                                \
    "ldr    r4, [sp]\n\t"                                                                   \
    "cmp    r9, r4\n\t"                                                                     \
    "bne    2b\n\t"                                                                         \
    "3:\n\t"                                                                                \
    "add    sp, sp, #20\n\t"                                                                \
    "pop    {r4-r11, pc}\n\t"

/* r6 = the branch (constants at [sp, #OFF], [sp, #OFF + 4]) of v = r10; r4, r5, r7 scratch. */
#define AFKD_DW16_BRANCH(OFF, DEST)                  \
    "ldrd   r4, r5, [sp, #" #OFF "]\n\t"             \
    "smlawb " DEST ", r4, r10, r5\n\t"               \
    "smlawt r7, r4, r10, r5\n\t"                     \
    "pkhtb  " DEST ", r7, " DEST ", asr #16\n\t"
#define AFKD_DW16_WHOLE(DEST) "qadd16 " DEST ", " DEST ", r10\n\t"
#define AFKD_DW16_SELECT(POS) "sadd16 r7, r10, r10\n\tsel    r10, " POS ", r6\n\t"

#define AFKD_DW16_LEAKY_SAME_0 AFKD_DW16_BRANCH(4, "r6") AFKD_DW16_SELECT("r10")
#define AFKD_DW16_LEAKY_SAME_1 AFKD_DW16_BRANCH(4, "r6") AFKD_DW16_WHOLE("r6") AFKD_DW16_SELECT("r10")
#define AFKD_DW16_LEAKY_POS_1                                                     \
    AFKD_DW16_BRANCH(4, "r6") AFKD_DW16_BRANCH(12, "r8") AFKD_DW16_WHOLE("r8")  \
    AFKD_DW16_SELECT("r8")
#define AFKD_DW16_LEAKY_NEG1_POS_1                                                                  \
    AFKD_DW16_BRANCH(4, "r6") AFKD_DW16_WHOLE("r6") AFKD_DW16_BRANCH(12, "r8") AFKD_DW16_WHOLE("r8") \
    AFKD_DW16_SELECT("r8")
#define AFKD_DW16_LEAKY_POS_2                                                     \
    AFKD_DW16_BRANCH(4, "r6") AFKD_DW16_BRANCH(12, "r8") AFKD_DW16_WHOLE("r8")  \
    AFKD_DW16_WHOLE("r8") AFKD_DW16_SELECT("r8")

#define AFKD_DW16_STR_(x) #x
#define AFKD_DW16_STR(x) AFKD_DW16_STR_(x)
#define AFKD_LEAKY_FAST_NEG_OFFSET 28 /* offsetof(afkd_leaky_relu_params, fast_neg_multiplier) */
#define AFKD_LEAKY_FAST_POS_OFFSET 40 /* offsetof(afkd_leaky_relu_params, fast_pos_multiplier) */
_Static_assert(offsetof(afkd_leaky_relu_params, fast_neg_multiplier) == AFKD_LEAKY_FAST_NEG_OFFSET &&
                   offsetof(afkd_leaky_relu_params, fast_neg_round) == AFKD_LEAKY_FAST_NEG_OFFSET + 4 &&
                   offsetof(afkd_leaky_relu_params, fast_pos_multiplier) == AFKD_LEAKY_FAST_POS_OFFSET &&
                   offsetof(afkd_leaky_relu_params, fast_pos_round) == AFKD_LEAKY_FAST_POS_OFFSET + 4,
               "the fused routines read the leaky constants at these offsets");

#define AFKD_DW16_CHANNELS_OFFSET 0
#define AFKD_DW16_BIAS_OFFSET 12
#define AFKD_DW16_MULTIPLIER32_OFFSET 36
#define AFKD_DW16_WEIGHTS16_OFFSET 40
_Static_assert(offsetof(afkd_depthwise_s16_params, channels) == AFKD_DW16_CHANNELS_OFFSET &&
                   offsetof(afkd_depthwise_s16_params, bias) == AFKD_DW16_BIAS_OFFSET &&
                   offsetof(afkd_depthwise_s16_params, multiplier32) == AFKD_DW16_MULTIPLIER32_OFFSET &&
                   offsetof(afkd_depthwise_s16_params, weights16) == AFKD_DW16_WEIGHTS16_OFFSET,
               "the fused routines read the depthwise parameters at these offsets");

/* channels even and >= 2, and everything afkd_depthwise_leaky_s16 checks. */
#define AFKD_DW16_LEAKY_FUNCTION(NAME, LEAKY)                                                                   \
    __attribute__((naked, noinline, noipa, unused, aligned(4))) static void NAME(                                                 \
        const afkd_depthwise_s16_params *p, const int16_t *const *taps, int16_t *out,                        \
        const afkd_leaky_relu_params *leaky)                                                                   \
    {                                                                                                           \
        __asm__ volatile(AFKD_DW16_LEAKY_ASM(LEAKY));                                                           \
    }

/* (fast, neg_whole, pos_whole) = (1, 0, -), (1, 1, -), (2, 0, 1), (2, 0, 2), (2, 1, 1) */
AFKD_DW16_LEAKY_FUNCTION(afkd_depthwise16_k3_leaky_same0, AFKD_DW16_LEAKY_SAME_0)
AFKD_DW16_LEAKY_FUNCTION(afkd_depthwise16_k3_leaky_same1, AFKD_DW16_LEAKY_SAME_1)
AFKD_DW16_LEAKY_FUNCTION(afkd_depthwise16_k3_leaky_pos1, AFKD_DW16_LEAKY_POS_1)
AFKD_DW16_LEAKY_FUNCTION(afkd_depthwise16_k3_leaky_pos2, AFKD_DW16_LEAKY_POS_2)
AFKD_DW16_LEAKY_FUNCTION(afkd_depthwise16_k3_leaky_neg1_pos1, AFKD_DW16_LEAKY_NEG1_POS_1)
#pragma GCC diagnostic pop

#define AFKD_DEPTHWISE16_ASM 1
#else
#define AFKD_DEPTHWISE16_ASM 0
#endif

#endif /* AFKD_DEPTHWISE16_M4_H */
