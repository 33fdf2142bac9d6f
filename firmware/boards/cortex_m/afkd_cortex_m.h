/* Pieces every Cortex-M board shares: the cycle/instruction counter and the ways out.
 * A board file calls cortex_m_counter_init() from board_init() once its clock is set, and
 * forwards the board_counter_* functions of afkd_board.h here. */
#ifndef AFKD_CORTEX_M_H
#define AFKD_CORTEX_M_H

#include <stdint.h>

/* Renode's instruction counter, a Python peripheral in every afkd .repl: offset 0 reads the
 * magic "AFKI", offset 4 the low 32 bits of the CPU's executed-instruction count. 0xF0000000
 * is vendor-system space that no STM32 decodes; only read when the board is emulated. */
#define AFKD_RENODE_COUNTER_BASE 0xF0000000u
#define AFKD_RENODE_COUNTER_MAGIC 0x494B4641u

/* Chooses the counter, in this order:
 *   - under an emulator (the board saw an emulator's signature, e.g. an RCC that reads 0)
 *     whose DWT runs (Renode; QEMU's DWT reads 0) or on a core without DWT CYCCNT (ARMv6-M,
 *     which QEMU does not model): Renode's own executed-instruction count when the afkd
 *     .repl maps its counter (AFKD_RENODE_COUNTER_BASE reads AFKD_RENODE_COUNTER_MAGIC;
 *     Renode reads 0 from an unmapped address instead of faulting, so the probe is safe);
 *   - DWT CYCCNT when it runs (real silicon, Cortex-M3 and up);
 *   - otherwise SysTick read as an instruction counter, valid only under `qemu -icount
 *     shift=N` where virtual time is exactly 2^N ns per instruction. The shift is found by
 *     timing a loop of known length; when no shift fits, the kind is "none".
 *   clock_hz: the SysTick processor clock the emulator models (netduinoplus2 168 MHz,
 *             mps2-an386 25 MHz).
 *   emulator: nonzero when the board knows it runs under QEMU or Renode. Never pass nonzero
 *             on silicon: the probe reads an address that faults there. */
void cortex_m_counter_init(uint32_t clock_hz, int emulator);
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
