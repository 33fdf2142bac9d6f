/* A loop of known instruction count, for calibrating the counters (CALIBRATE message and the
 * boards' icount detection). */
#ifndef AFKD_KNOWN_LOOP_H
#define AFKD_KNOWN_LOOP_H

#include <stdint.h>

/* Executes exactly 2 * iterations instructions in its loop (`subs`, `bne`), plus
 * a fixed entry/exit of a few. iterations must be >= 1. */
static inline __attribute__((always_inline)) void afkd_known_loop(uint32_t iterations)
{
#if defined(__arm__) && defined(__thumb2__)
    __asm volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b\n" : "+r"(iterations) : : "cc");
#elif defined(__arm__)
    /* ARMv6-M (Cortex-M0+): GCC's inline assembly is in divided syntax there, where the 16-bit
     * SUB #imm is the flag-setting one; a low register is required. Same 2 instructions. */
    __asm volatile("1:\n\tsub %0, #1\n\tbne 1b\n" : "+l"(iterations) : : "cc");
#else
    /* Host: no instruction counter, so only the time matters; volatile keeps the loop. */
    volatile uint32_t n = iterations;
    while (n != 0u) {
        n = n - 1u;
    }
#endif
}

#endif /* AFKD_KNOWN_LOOP_H */
