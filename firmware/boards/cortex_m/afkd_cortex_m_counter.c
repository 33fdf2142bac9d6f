/* Counters for Cortex-M boards: DWT cycles on silicon, SysTick instructions under QEMU,
 * Renode's own instruction count under Renode.
 *
 * Why SysTick works as an instruction counter: with `-icount shift=N,sleep=off` QEMU's
 * virtual clock advances exactly 2^N ns per executed instruction, and the SysTick (processor
 * clock source) decrements at the modelled core clock in that virtual time. So
 *   ticks = instructions * 2^N * clock_hz / 1e9   and back  (cortex_m_ticks_to_instructions).
 * Writing SYST_CVR at every start re-phases the tick grid to the start instruction, so the
 * same code gives the same count every run, whatever the host did before. The 24-bit counter
 * is extended by counting wraps in the SysTick exception.
 *
 * Why Renode needs its own: its DWT and SysTick follow Renode's virtual clock, which advances
 * per quantum and drifts from run to run (about 1.8 DWT "cycles" per instruction on 1.16.1),
 * so neither measures the code. Renode's executed-instruction count does; the afkd .repl
 * exposes it as a register (see AFKD_RENODE_COUNTER_BASE).
 */
#include <stdint.h>

#include "afkd_cortex_m.h"
#include "afkd_known_loop.h"
#include "afkd_protocol.h"

#define REG32(address) (*(volatile uint32_t *)(address))
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define SYSTICK_SPAN 0x1000000u  /* 24-bit counter */
#define AIRCR REG32(0xE000ED0Cu)

#define CALIBRATION_ITERATIONS 65536u  /* 2^17 instructions: shift error < 1% at 25 MHz */
#define MAX_ICOUNT_SHIFT 10u          /* QEMU refuses larger shifts */

#define RENODE_MAGIC REG32(AFKD_RENODE_COUNTER_BASE)

#if defined(__ARM_ARCH_6M__)
#define HAS_DWT_CYCCNT 0  /* ARMv6-M's DWT has no cycle counter */
#else
#define HAS_DWT_CYCCNT 1
#endif

static uint8_t counter_kind = AFKD_COUNTER_NONE;
static uint32_t renode_start;
static uint8_t icount_shift = 0xFFu;
static uint32_t counter_clock_hz;
static volatile uint32_t systick_wraps;

void SysTick_Handler(void)
{
    systick_wraps = systick_wraps + 1u;
}

/* n / d (d > 0, below 2^63) by shift and subtract. Only the measurement runs it, a few times:
 * about 80 bytes, where libgcc's 64-bit division (__udivmoddi4) took 700 of every image. */
static uint64_t counter_udiv64(uint64_t n, uint64_t d)
{
    uint64_t quotient = 0u, remainder = 0u;
    for (int bit = 63; bit >= 0; --bit) {
        remainder = (remainder << 1) | ((n >> bit) & 1u);
        if (remainder >= d) {
            remainder -= d;
            quotient |= 1ull << bit;
        }
    }
    return quotient;
}

uint32_t cortex_m_ticks_to_instructions(uint64_t ticks, uint32_t clock_hz, uint8_t shift)
{
    /* ticks < 2^32 * 2^24 in practice; * 1e9 (< 2^30) stays below 2^64 for ticks < 2^34. */
    const uint64_t divisor = (uint64_t)clock_hz << shift;
    const uint64_t instructions = counter_udiv64(ticks * 1000000000ull + divisor / 2u, divisor);
    return instructions > UINT32_MAX ? UINT32_MAX : (uint32_t)instructions;
}

static void systick_restart(void)
{
    SYST_CVR = 0u;  /* any write clears the count; it reloads from RVR on the next tick */
    systick_wraps = 0u;
}

static uint64_t systick_elapsed_ticks(void)
{
    uint32_t wraps, current;
    do {  /* re-read if a wrap slipped in between the two reads */
        wraps = systick_wraps;
        current = SYST_CVR;
    } while (wraps != systick_wraps);
    /* current == 0 right after the restart: nothing elapsed yet. */
    return (uint64_t)wraps * SYSTICK_SPAN + ((SYSTICK_SPAN - current) & (SYSTICK_SPAN - 1u));
}

/* Renode counts a translation block's instructions when the next block starts, so a read in
 * the middle of a block would miss the instructions before it in that block (how many
 * depends on where Renode happened to split blocks). The branch ends a block, so the load
 * is the first instruction of the next one: the value is exactly the instructions executed
 * before it, whatever the block boundaries were. */
__attribute__((noinline)) static uint32_t renode_instructions(void)
{
    uint32_t value;
    __asm volatile("b 1f\n1:\n\tldr %0, [%1, #4]" : "=l"(value) : "l"(AFKD_RENODE_COUNTER_BASE) : "memory");
    return value;
}

static int dwt_runs(void)
{
#if HAS_DWT_CYCCNT
    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0u;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    afkd_known_loop(16u);
    return DWT_CYCCNT != 0u;  /* QEMU: the PPB slot reads as zero */
#else
    return 0;
#endif
}

static uint8_t find_icount_shift(uint32_t clock_hz)
{
    systick_restart();
    afkd_known_loop(CALIBRATION_ITERATIONS);
    const uint64_t ticks = systick_elapsed_ticks();
    for (uint8_t shift = 0; shift <= MAX_ICOUNT_SHIFT; ++shift) {
        /* Expected ticks for 2 * iterations instructions at 2^shift ns each. */
        const uint64_t expected = counter_udiv64((uint64_t)clock_hz * 2u * CALIBRATION_ITERATIONS << shift,
                                                 1000000000ull);
        const uint64_t tolerance = expected / 16u + 2u;
        if (ticks + tolerance >= expected && ticks <= expected + tolerance) {
            return shift;
        }
    }
    return 0xFFu;
}

void cortex_m_counter_init(uint32_t clock_hz, int emulator)
{
    counter_clock_hz = clock_hz;
    const int dwt = dwt_runs();
    if (emulator && (dwt || !HAS_DWT_CYCCNT) && RENODE_MAGIC == AFKD_RENODE_COUNTER_MAGIC) {
        counter_kind = AFKD_COUNTER_RENODE_INSTRUCTIONS;
        return;
    }
    if (dwt) {
        counter_kind = AFKD_COUNTER_DWT_CYCLES;
        return;
    }
    SYST_RVR = SYSTICK_SPAN - 1u;
    systick_restart();
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    icount_shift = find_icount_shift(clock_hz);
    if (icount_shift != 0xFFu) {
        counter_kind = AFKD_COUNTER_QEMU_ICOUNT;
    } else {
        SYST_CSR = 0u;  /* no usable counter: stop the exceptions */
    }
}

void cortex_m_counter_start(void)
{
    if (counter_kind == AFKD_COUNTER_RENODE_INSTRUCTIONS) {
        renode_start = renode_instructions();
    } else if (counter_kind == AFKD_COUNTER_DWT_CYCLES) {
        DWT_CYCCNT = 0u;
    } else if (counter_kind == AFKD_COUNTER_QEMU_ICOUNT) {
        systick_restart();
    }
}

uint32_t cortex_m_counter_read(void)
{
    if (counter_kind == AFKD_COUNTER_RENODE_INSTRUCTIONS) {
        return renode_instructions() - renode_start;  /* modulo 2^32: wraps cancel */
    }
    if (counter_kind == AFKD_COUNTER_DWT_CYCLES) {
        return DWT_CYCCNT;
    }
    if (counter_kind == AFKD_COUNTER_QEMU_ICOUNT) {
        return cortex_m_ticks_to_instructions(systick_elapsed_ticks(), counter_clock_hz, icount_shift);
    }
    return 0u;
}

uint8_t cortex_m_counter_kind(void)
{
    return counter_kind;
}

uint8_t cortex_m_icount_shift(void)
{
    return icount_shift;
}

void cortex_m_semihosting_exit(int code)
{
    /* SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit or ADP_Stopped_RunTimeErrorUnknown. */
    register uint32_t operation __asm("r0") = 0x18u;
    register uint32_t reason __asm("r1") = code == 0 ? 0x20026u : 0x20023u;
    __asm volatile("bkpt 0xAB" : : "r"(operation), "r"(reason) : "memory");
    for (;;) {
    }
}

void cortex_m_system_reset(void)
{
    __asm volatile("dsb" : : : "memory");
    AIRCR = (0x05FAu << 16) | (1u << 2);  /* VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" : : : "memory");
    for (;;) {
    }
}
