/* What the STM32 board files share: register access, bounded waits, GPIO alternate functions
 * and the two USART register layouts (F4's SR/DR, and the ISR/RDR/TDR layout of every later
 * family). Header only: each board file includes it and keeps its own clock tree.
 *
 * Every board reads its RCC clock-control register first: it is never 0 on silicon (the reset
 * oscillator's ON bit is set), while QEMU and afkd's Renode platforms leave the RCC unmapped
 * and read 0 there. So a zero means "emulator": the board skips the clock set-up, whose ready
 * bits would never come, and passes emulator=1 to cortex_m_counter_init. */
#ifndef AFKD_STM32_H
#define AFKD_STM32_H

#include <stdint.h>

#define AFKD_REG32(address) (*(volatile uint32_t *)(address))
#define AFKD_READY_WAIT_LOOPS 200000u
#define AFKD_BAUD 115200u

/* 1 when (*reg & mask) == value within AFKD_READY_WAIT_LOOPS reads, else 0: on silicon a
 * clock that never becomes ready leaves the board on its reset clock instead of hanging. */
static inline int afkd_wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t i = 0; i < AFKD_READY_WAIT_LOOPS; ++i) {
        if ((*reg & mask) == value) {
            return 1;
        }
    }
    return 0;
}

/* Pin `pin` of the GPIO port at `port` to alternate function `af` (MODER 0x00, AFRL 0x20,
 * AFRH 0x24: the same on every STM32). The port's clock must be on. */
static inline void afkd_gpio_alternate(uint32_t port, uint32_t pin, uint32_t af)
{
    volatile uint32_t *moder = &AFKD_REG32(port + 0x00u);
    volatile uint32_t *afr = &AFKD_REG32(port + (pin < 8u ? 0x20u : 0x24u));
    const uint32_t shift = (pin % 8u) * 4u;
    *moder = (*moder & ~(3u << (2u * pin))) | (2u << (2u * pin));
    *afr = (*afr & ~(0xFu << shift)) | (af << shift);
}

/* The USART's status and data registers: a board of the F1/F2/F4 families defines
 * AFKD_STM32_USART_SR_DR before including this header and gets that layout (SR, DR); every
 * other family has the ISR/RDR/TDR one. The status bits are the same in both. */
#define AFKD_USART_ISR_RXNE (1u << 5)
#define AFKD_USART_ISR_TC (1u << 6)
#define AFKD_USART_ISR_TXE (1u << 7)
#if defined(AFKD_STM32_USART_SR_DR)
#define AFKD_USART_ISR(base) AFKD_REG32((base) + 0x00u) /* SR */
#define AFKD_USART_RDR(base) AFKD_REG32((base) + 0x04u) /* DR, read */
#define AFKD_USART_TDR(base) AFKD_REG32((base) + 0x04u) /* DR, written */
#else
/* ISR/RDR/TDR layout (F7, H7, L0, L4, L5, G0, U5). kernel_hz: the clock the USART counts (its
 * APB clock by default); 16x oversampling, so BRR = kernel_hz / baud. (F4's BRR and CR1 sit
 * elsewhere: its board file sets them itself.) */
#define AFKD_USART_CR1(base) AFKD_REG32((base) + 0x00u)
#define AFKD_USART_BRR(base) AFKD_REG32((base) + 0x0Cu)
#define AFKD_USART_ISR(base) AFKD_REG32((base) + 0x1Cu)
#define AFKD_USART_RDR(base) AFKD_REG32((base) + 0x24u)
#define AFKD_USART_TDR(base) AFKD_REG32((base) + 0x28u)

static inline void afkd_usart_init(uint32_t base, uint32_t kernel_hz, int low_power)
{
    /* LPUART: BRR = 256 * f / baud (valid for f between 3x and 4096x the baud rate). */
    AFKD_USART_BRR(base) = low_power ? (uint32_t)(((uint64_t)kernel_hz * 256u + AFKD_BAUD / 2u) / AFKD_BAUD)
                                     : (kernel_hz + AFKD_BAUD / 2u) / AFKD_BAUD;
    AFKD_USART_CR1(base) = (1u << 3) | (1u << 2) | 1u;  /* TE | RE | UE */
}
#endif

static inline int afkd_usart_getc(uint32_t base)
{
    while ((AFKD_USART_ISR(base) & AFKD_USART_ISR_RXNE) == 0u) {
    }
    return (int)(AFKD_USART_RDR(base) & 0xFFu);
}

static inline void afkd_usart_putc(uint32_t base, uint8_t byte)
{
    while ((AFKD_USART_ISR(base) & AFKD_USART_ISR_TXE) == 0u) {
    }
    AFKD_USART_TDR(base) = byte;
}

static inline void afkd_usart_drain(uint32_t base)
{
    (void)afkd_wait_for(&AFKD_USART_ISR(base), AFKD_USART_ISR_TC, AFKD_USART_ISR_TC);
}

#endif /* AFKD_STM32_H */
