/* STM32U585 board (Cortex-M33, TrustZone off): 160 MHz from PLL1 on the 16 MHz HSI (or the 4 MHz
 * MSIS it resets on), USART1 at 115200 8N1, instruction cache on, DWT cycles on silicon.
 *
 * AFKD_CLOCK_HZ: 160000000 (voltage range 1 with the EPOD booster; PLL1: HSI / M 1 * N 20 =
 * 320 MHz VCO / R 2; 4 flash wait states) or 4000000 (MSIS, no set-up).
 * UART: AFKD_UART_USART1 TX = PA9, RX = PA10, AF7: the ST-LINK virtual COM port of the
 * B-U585I-IOT02A. With TrustZone off (TZEN = 0, as shipped) the non-secure addresses apply.
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 160000000u
#endif
#if AFKD_CLOCK_HZ != 160000000u && AFKD_CLOCK_HZ != 4000000u
#error "stm32u585: AFKD_CLOCK_HZ must be 160000000 (PLL1) or 4000000 (MSIS)"
#endif

#define RCC_BASE 0x46020C00u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR1 AFKD_REG32(RCC_BASE + 0x1Cu)
#define RCC_PLL1CFGR AFKD_REG32(RCC_BASE + 0x28u)
#define RCC_PLL1DIVR AFKD_REG32(RCC_BASE + 0x34u)
#define RCC_AHB2ENR1 AFKD_REG32(RCC_BASE + 0x8Cu)
#define RCC_AHB3ENR AFKD_REG32(RCC_BASE + 0x94u)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0xA4u)
#define PWR_VOSR AFKD_REG32(0x4602080Cu)
#define FLASH_ACR AFKD_REG32(0x40022000u)
#define ICACHE_CR AFKD_REG32(0x40030400u)
#define GPIOA_BASE 0x42020000u
#define USART_BASE 0x40013800u

static uint32_t core_clock_hz = 4000000u;
static int emulated;

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;
        return;
    }
    ICACHE_CR |= 1u;  /* EN */
    if (AFKD_CLOCK_HZ != 160000000u) {
        return;
    }
    RCC_CR |= 1u << 8;  /* HSION */
    if (!afkd_wait_for(&RCC_CR, 1u << 10, 1u << 10)) {
        return;
    }
    RCC_AHB3ENR |= 1u << 2;  /* PWR */
    /* Range 1 and the EPOD booster (needed above 55 MHz; its clock is PLL1's input, 16 MHz). */
    PWR_VOSR = (PWR_VOSR & ~(3u << 16)) | (3u << 16) | (1u << 18);
    if (!afkd_wait_for(&PWR_VOSR, (1u << 15) | (1u << 14), (1u << 15) | (1u << 14))) {
        return;
    }
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 4u;
    if (!afkd_wait_for(&FLASH_ACR, 0xFu, 4u)) {
        return;
    }
    /* PLL1: source HSI16, input range 8-16 MHz (3), M 1 (field 0), R output enabled. */
    RCC_PLL1CFGR = 2u | (3u << 2) | (0u << 8) | (1u << 18);
    RCC_PLL1DIVR = (19u << 0) | (1u << 9) | (1u << 16) | (1u << 24);  /* N 20, P 2, Q 2, R 2 */
    RCC_CR |= 1u << 24;  /* PLL1ON */
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    RCC_CFGR1 = (RCC_CFGR1 & ~3u) | 3u;  /* SW = PLL1 */
    if (afkd_wait_for(&RCC_CFGR1, 0xCu, 0xCu)) {
        core_clock_hz = 160000000u;
    }
}

void board_init(void)
{
    clock_init();
    RCC_AHB2ENR1 |= 1u << 0;  /* GPIOA */
    RCC_APB2ENR |= 1u << 14;  /* USART1 */
    afkd_gpio_alternate(GPIOA_BASE, 9u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 10u, 7u);
    afkd_usart_init(USART_BASE, core_clock_hz, 0);  /* PCLK2 = core clock (no prescaler) */
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32u585"
#include "afkd_stm32_board_api.h"
