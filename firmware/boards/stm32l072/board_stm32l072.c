/* STM32L072 board (Cortex-M0+): 32 MHz from the PLL on the 16 MHz HSI (or the 2.097 MHz MSI it
 * resets on), a USART at 115200 8N1. ARMv6-M has no cycle counter: on silicon the counts are
 * 0 (kind "none"); under Renode they are its instruction count.
 *
 * AFKD_CLOCK_HZ: 32000000 (voltage range 1; PLL: HSI16 * 4 / 2; 1 flash wait state) or
 * 2097000 (MSI, no set-up; 115200 baud is then 1.1 % off). UART: AFKD_UART_USART2 (default)
 * TX = PA2, RX = PA3, AF4: the ST-LINK virtual COM port of the Nucleo-L073RZ and the
 * B-L072Z-LRWAN1; AFKD_UART_USART1 TX = PA9, RX = PA10, AF4. Both count PCLK (= core clock).
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 32000000u
#endif
#if AFKD_CLOCK_HZ != 32000000u && AFKD_CLOCK_HZ != 2097000u
#error "stm32l072: AFKD_CLOCK_HZ must be 32000000 (PLL) or 2097000 (MSI)"
#endif

#define RCC_BASE 0x40021000u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x0Cu)
#define RCC_IOPENR AFKD_REG32(RCC_BASE + 0x2Cu)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0x34u)
#define RCC_APB1ENR AFKD_REG32(RCC_BASE + 0x38u)
#define PWR_CR AFKD_REG32(0x40007000u)
#define PWR_CSR AFKD_REG32(0x40007004u)
#define FLASH_ACR AFKD_REG32(0x40022000u)
#define GPIOA_BASE 0x50000000u
#if defined(AFKD_UART_USART1)
#define USART_BASE 0x40013800u
#else
#define USART_BASE 0x40004400u
#endif

static uint32_t core_clock_hz = 2097000u;
static int emulated;

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;
        return;
    }
    if (AFKD_CLOCK_HZ != 32000000u) {
        return;
    }
    RCC_APB1ENR |= 1u << 28;                            /* PWR */
    PWR_CR = (PWR_CR & ~(3u << 11)) | (1u << 11);       /* range 1 (1.8 V) for 32 MHz */
    if (!afkd_wait_for(&PWR_CSR, 1u << 4, 0u)) {        /* VOSF clear */
        return;
    }
    FLASH_ACR |= 1u;                                    /* 1 wait state above 16 MHz */
    if (!afkd_wait_for(&FLASH_ACR, 1u, 1u)) {
        return;
    }
    RCC_CR |= 1u << 0;  /* HSI16ON */
    if (!afkd_wait_for(&RCC_CR, 1u << 2, 1u << 2)) {
        return;
    }
    /* PLLSRC HSI16, PLLMUL 4 (field 1), PLLDIV 2 (field 1) -> 32 MHz. */
    RCC_CFGR = (RCC_CFGR & ~((1u << 16) | (0xFu << 18) | (3u << 22))) | (1u << 16) | (1u << 18) | (1u << 22);
    RCC_CR |= 1u << 24;
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~3u) | 3u;  /* SW = PLL */
    if (afkd_wait_for(&RCC_CFGR, 0xCu, 0xCu)) {
        core_clock_hz = 32000000u;
    }
}

void board_init(void)
{
    clock_init();
    RCC_IOPENR |= 1u << 0;  /* GPIOA */
#if defined(AFKD_UART_USART1)
    RCC_APB2ENR |= 1u << 14;
    afkd_gpio_alternate(GPIOA_BASE, 9u, 4u);
    afkd_gpio_alternate(GPIOA_BASE, 10u, 4u);
#else
    RCC_APB1ENR |= 1u << 17;
    afkd_gpio_alternate(GPIOA_BASE, 2u, 4u);
    afkd_gpio_alternate(GPIOA_BASE, 3u, 4u);
#endif
    afkd_usart_init(USART_BASE, core_clock_hz, 0);
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32l072"
#include "afkd_stm32_board_api.h"
