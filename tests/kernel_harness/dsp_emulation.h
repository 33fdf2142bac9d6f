/* dsp_emulation.h - C models of the Cortex-M4 DSP intrinsics afkd_dot.h uses, for running
 * its DSP loops on the host (-DAFKD_DSP_EMULATION='"dsp_emulation.h"'). */
#ifndef AFKD_DSP_EMULATION_H
#define AFKD_DSP_EMULATION_H

#include <stdint.h>

typedef int32_t int16x2_t;

/* SXTB16: bytes 0 and 2 sign-extended into the low and high halfwords. */
static inline int16x2_t __sxtb16(int32_t x)
{
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(x & 0xFF) & 0xFFFFu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)((x >> 16) & 0xFF) & 0xFFFFu;
    return (int16x2_t)(lo | (hi << 16));
}

static inline int16x2_t afkd_sxtb16_odd(int32_t x)
{
    const uint32_t u = (uint32_t)x;
    return __sxtb16((int32_t)((u >> 8) | (u << 24)));
}

/* SMLAD: acc + lo(a)*lo(b) + hi(a)*hi(b), halfwords signed. */
static inline int32_t __smlad(int16x2_t a, int16x2_t b, int32_t acc)
{
    const int32_t a_lo = (int16_t)(a & 0xFFFF), a_hi = (int16_t)((uint32_t)a >> 16);
    const int32_t b_lo = (int16_t)(b & 0xFFFF), b_hi = (int16_t)((uint32_t)b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)(a_lo * b_lo) + (uint32_t)(a_hi * b_hi));
}

#endif
