/* STM32G071 board (Cortex-M0+): 64 MHz from the PLL on the 16 MHz HSI (or the HSI itself),
 * USART2 at 115200 8N1. ARMv6-M has no cycle counter: on silicon the counts are 0 (kind
 * "none"); under Renode they are its instruction count.
 *
 * AFKD_CLOCK_HZ: 64000000 (PLL: HSI / M 1 * N 8 = 128 MHz VCO / R 2; 2 flash wait states) or
 * 16000000 (HSI, no set-up). UART: AFKD_UART_USART2 TX = PA2, RX = PA3, AF1: the ST-LINK
 * virtual COM port of the Nucleo-G071RB; it counts PCLK (= the core clock).
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 64000000u
#endif
#if AFKD_CLOCK_HZ != 64000000u && AFKD_CLOCK_HZ != 16000000u
#error "stm32g071: AFKD_CLOCK_HZ must be 64000000 (PLL) or 16000000 (HSI)"
#endif

#define RCC_BASE 0x40021000u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x0Cu)
#define RCC_IOPENR AFKD_REG32(RCC_BASE + 0x34u)
#define RCC_APBENR1 AFKD_REG32(RCC_BASE + 0x3Cu)
#define FLASH_ACR AFKD_REG32(0x40022000u)
#define GPIOA_BASE 0x50000000u
#define USART_BASE 0x40004400u

static uint32_t core_clock_hz = 16000000u;
static int emulated;

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;
        return;
    }
    if (AFKD_CLOCK_HZ != 64000000u) {
        return;
    }
    /* PLLSRC HSI16, M 1 (field 0), N 8, R 2 (field 1), PLLREN. */
    RCC_PLLCFGR = 2u | (0u << 4) | (8u << 8) | (1u << 28) | (1u << 29);
    RCC_CR |= 1u << 24;
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    FLASH_ACR = (FLASH_ACR & ~7u) | 2u | (1u << 8) | (1u << 9);  /* 2 wait states, prefetch, I-cache */
    if (!afkd_wait_for(&FLASH_ACR, 7u, 2u)) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~7u) | 2u;  /* SW = PLLRCLK */
    if (afkd_wait_for(&RCC_CFGR, 0x38u, 2u << 3)) {
        core_clock_hz = 64000000u;
    }
}

void board_init(void)
{
    clock_init();
    RCC_IOPENR |= 1u << 0;    /* GPIOA */
    RCC_APBENR1 |= 1u << 17;  /* USART2 */
    afkd_gpio_alternate(GPIOA_BASE, 2u, 1u);
    afkd_gpio_alternate(GPIOA_BASE, 3u, 1u);
    afkd_usart_init(USART_BASE, core_clock_hz, 0);
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32g071"
#include "afkd_stm32_board_api.h"
