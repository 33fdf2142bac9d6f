/* Pieces every Cortex-M4 board shares: the cycle/instruction counter and the ways out.
 * A board file calls cortex_m_counter_init() from board_init() once its clock is set, and
 * forwards the board_counter_* functions of afkd_board.h here. */
#ifndef AFKD_CORTEX_M_H
#define AFKD_CORTEX_M_H

#include <stdint.h>

/* Chooses the counter: DWT CYCCNT when it runs (real silicon, Renode with a DWT model),
 * otherwise SysTick read as an instruction counter, valid only under `qemu -icount shift=N`
 * where virtual time is exactly 2^N ns per instruction. The shift is found by timing a loop
 * of known length; when no shift fits, the kind is "none".
 *   clock_hz: the SysTick processor clock the emulator models (netduinoplus2 168 MHz,
 *             mps2-an386 25 MHz). */
void cortex_m_counter_init(uint32_t clock_hz);
void cortex_m_counter_start(void);
uint32_t cortex_m_counter_read(void);
uint8_t cortex_m_counter_kind(void);
uint8_t cortex_m_icount_shift(void);

/* Semihosting SYS_EXIT: ends QEMU (-semihosting-config enable=on,target=native) with status
 * 0 when code is 0, 1 otherwise. Faults on a real board without a debugger: do not call there. */
void cortex_m_semihosting_exit(int code) __attribute__((noreturn));
/* AIRCR SYSRESETREQ. */
void cortex_m_system_reset(void) __attribute__((noreturn));

/* From SysTick ticks to instructions, given QEMU's virtual 2^shift ns per instruction:
 *   instructions = ticks * 1e9 / (clock_hz * 2^shift), rounded to nearest.
 * Exposed for the host-side unit test of the arithmetic. */
uint32_t cortex_m_ticks_to_instructions(uint64_t ticks, uint32_t clock_hz, uint8_t shift);

#endif /* AFKD_CORTEX_M_H */
