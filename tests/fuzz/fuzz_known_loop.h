/* Force-included into firmware/harness/main.c for the fuzz build only: replaces the
 * calibration loop (afkd_known_loop.h, same include guard) by one capped at 2^16 turns.
 * CALIBRATE lets the host ask for up to 2^32 turns by design; fuzzing that would measure
 * patience, not robustness. */
#ifndef AFKD_KNOWN_LOOP_H
#define AFKD_KNOWN_LOOP_H

#include <stdint.h>

static inline void afkd_known_loop(uint32_t iterations)
{
    volatile uint32_t n = iterations > 65536u ? 65536u : iterations;
    while (n != 0u) {
        n = n - 1u;
    }
}

#endif /* AFKD_KNOWN_LOOP_H */
