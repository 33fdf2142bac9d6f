/* STM32L476 board (Cortex-M4F): 80 MHz from the PLL on the 16 MHz HSI (or the 4 MHz MSI it
 * resets on), a USART at 115200 8N1, DWT cycles on silicon.
 *
 * AFKD_CLOCK_HZ: 80000000 (PLL: HSI16 / M 1 * N 10 / R 2, range 1, 4 flash wait states) or
 * 4000000 (MSI, no set-up). UART: AFKD_UART_USART2 (default) TX = PA2, RX = PA3, AF7: the
 * ST-LINK virtual COM port of the Nucleo-L476RG; AFKD_UART_USART1 TX = PA9, RX = PA10, AF7.
 * Both count their APB clock, which equals the core clock here (no APB prescaler).
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 80000000u
#endif
#if AFKD_CLOCK_HZ != 80000000u && AFKD_CLOCK_HZ != 4000000u
#error "stm32l476: AFKD_CLOCK_HZ must be 80000000 (PLL) or 4000000 (MSI)"
#endif

#define RCC_BASE 0x40021000u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR AFKD_REG32(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 AFKD_REG32(RCC_BASE + 0x58u)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0x60u)
#define FLASH_ACR AFKD_REG32(0x40022000u)
#define GPIOA_BASE 0x48000000u
#if defined(AFKD_UART_USART1)
#define USART_BASE 0x40013800u
#else
#define USART_BASE 0x40004400u
#endif

static uint32_t core_clock_hz = 4000000u;
static int emulated;

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;
        return;
    }
    if (AFKD_CLOCK_HZ != 80000000u) {
        return;
    }
    RCC_CR |= 1u << 8;  /* HSION */
    if (!afkd_wait_for(&RCC_CR, 1u << 10, 1u << 10)) {
        return;
    }
    /* PLLSRC = HSI16, M = 1 (field 0), N = 10 -> 160 MHz VCO, R = 2 (field 0), PLLREN. */
    RCC_PLLCFGR = 2u | (0u << 4) | (10u << 8) | (1u << 24) | (0u << 25);
    RCC_CR |= 1u << 24;  /* PLLON */
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    /* 4 wait states for 80 MHz in range 1, prefetch, instruction and data caches. */
    FLASH_ACR = (FLASH_ACR & ~7u) | 4u | (1u << 8) | (1u << 9) | (1u << 10);
    if (!afkd_wait_for(&FLASH_ACR, 7u, 4u)) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~3u) | 3u;  /* SW = PLL */
    if (afkd_wait_for(&RCC_CFGR, 0xCu, 0xCu)) {
        core_clock_hz = 80000000u;
    }
}

void board_init(void)
{
    clock_init();
    RCC_AHB2ENR |= 1u << 0;  /* GPIOA */
#if defined(AFKD_UART_USART1)
    RCC_APB2ENR |= 1u << 14;
    afkd_gpio_alternate(GPIOA_BASE, 9u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 10u, 7u);
#else
    RCC_APB1ENR1 |= 1u << 17;
    afkd_gpio_alternate(GPIOA_BASE, 2u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 3u, 7u);
#endif
    afkd_usart_init(USART_BASE, core_clock_hz, 0);
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32l476"
#include "afkd_stm32_board_api.h"
