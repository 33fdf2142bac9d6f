/* STM32L552 board (Cortex-M33, TrustZone off): 110 MHz from the PLL on the 16 MHz HSI (or the
 * 4 MHz MSI it resets on), a UART at 115200 8N1, DWT cycles on silicon.
 *
 * AFKD_CLOCK_HZ: 110000000 (voltage range 0; PLL: HSI / M 4 * N 55 = 220 MHz VCO / R 2; 5 flash
 * wait states; AHB at /2 for the switch, then /1) or 4000000 (MSI, no set-up).
 * UART: AFKD_UART_LPUART1 (default) TX = PG7, RX = PG8, AF8: the ST-LINK virtual COM port of
 * the Nucleo-L552ZE-Q (port G needs VDDIO2: PWR_CR2.IOSV); AFKD_UART_USART2 TX = PA2,
 * RX = PA3, AF7. Both count PCLK1 (= the core clock). Non-secure addresses (TZEN = 0).
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 110000000u
#endif
#if AFKD_CLOCK_HZ != 110000000u && AFKD_CLOCK_HZ != 4000000u
#error "stm32l552: AFKD_CLOCK_HZ must be 110000000 (PLL) or 4000000 (MSI)"
#endif

#define RCC_BASE 0x40021000u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x08u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x0Cu)
#define RCC_AHB2ENR AFKD_REG32(RCC_BASE + 0x4Cu)
#define RCC_APB1ENR1 AFKD_REG32(RCC_BASE + 0x58u)
#define RCC_APB1ENR2 AFKD_REG32(RCC_BASE + 0x5Cu)
#define PWR_CR1 AFKD_REG32(0x40007000u)
#define PWR_CR2 AFKD_REG32(0x40007004u)
#define PWR_SR2 AFKD_REG32(0x40007014u)
#define FLASH_ACR AFKD_REG32(0x40022000u)
#define GPIOA_BASE 0x42020000u
#define GPIOG_BASE 0x42021800u
#if defined(AFKD_UART_USART2)
#define USART_BASE 0x40004400u
#define LOW_POWER_UART 0
#else
#define USART_BASE 0x40008000u
#define LOW_POWER_UART 1
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
    RCC_APB1ENR1 |= 1u << 28;  /* PWR, needed for VOS and IOSV */
    if (AFKD_CLOCK_HZ != 110000000u) {
        return;
    }
    PWR_CR1 &= ~(3u << 9);  /* VOS = range 0 (up to 110 MHz) */
    if (!afkd_wait_for(&PWR_SR2, 1u << 10, 0u)) {  /* VOSF clear */
        return;
    }
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u;
    if (!afkd_wait_for(&FLASH_ACR, 0xFu, 5u)) {
        return;
    }
    RCC_CR |= 1u << 8;  /* HSION */
    if (!afkd_wait_for(&RCC_CR, 1u << 10, 1u << 10)) {
        return;
    }
    /* PLLSRC HSI16, M 4 (field 3) -> 4 MHz, N 55 -> 220 MHz, R 2 (field 0), PLLREN. */
    RCC_PLLCFGR = 2u | (3u << 4) | (55u << 8) | (1u << 24);
    RCC_CR |= 1u << 24;
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    /* Above 80 MHz the switch goes through AHB /2 for at least 1 us (reference manual). */
    RCC_CFGR = (RCC_CFGR & ~0xF0u) | (8u << 4);
    RCC_CFGR = (RCC_CFGR & ~3u) | 3u;
    if (!afkd_wait_for(&RCC_CFGR, 0xCu, 0xCu)) {
        return;
    }
    for (volatile uint32_t i = 0; i < 200u; ++i) {
    }
    RCC_CFGR &= ~0xF0u;
    core_clock_hz = 110000000u;
}

void board_init(void)
{
    clock_init();
#if defined(AFKD_UART_USART2)
    RCC_AHB2ENR |= 1u << 0;   /* GPIOA */
    RCC_APB1ENR1 |= 1u << 17;
    afkd_gpio_alternate(GPIOA_BASE, 2u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 3u, 7u);
#else
    PWR_CR2 |= 1u << 9;       /* IOSV: VDDIO2 powers port G */
    RCC_AHB2ENR |= 1u << 6;   /* GPIOG */
    RCC_APB1ENR2 |= 1u << 0;  /* LPUART1 */
    afkd_gpio_alternate(GPIOG_BASE, 7u, 8u);
    afkd_gpio_alternate(GPIOG_BASE, 8u, 8u);
#endif
    afkd_usart_init(USART_BASE, core_clock_hz, LOW_POWER_UART);
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32l552"
#include "afkd_stm32_board_api.h"
