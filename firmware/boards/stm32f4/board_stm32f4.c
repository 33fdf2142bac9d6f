/* STM32F405/407 board: 168 MHz from an 8 MHz HSE (or the 16 MHz HSI it resets on), a USART at
 * 115200 8N1, DWT cycles on silicon, instructions under QEMU and Renode.
 *
 * AFKD_CLOCK_HZ: 168000000 (PLL, the default) or 16000000 (HSI, no set-up).
 * UART: AFKD_UART_USART1 (default) TX = PA9, RX = PA10, AF7, on APB2; AFKD_UART_USART2
 * TX = PA2, RX = PA3, AF7, on APB1 (the ST-LINK virtual COM port of the Nucleo-F401/F411).
 * QEMU's netduinoplus2 wires its first -serial to USART1 (0x40011000), so the default firmware
 * runs there unchanged.
 *
 * QEMU (7.2) does not model the RCC, and afkd's Renode platform leaves it unmapped: it reads 0
 * there. RCC_CR is never 0 on silicon (HSION is set out of reset), so a zero read means
 * emulator: skip the PLL, whose ready bits would never come (afkd_stm32.h). On silicon every
 * ready-wait has a timeout; a board without a working HSE stays on HSI.
 */
#include <stdint.h>

#define AFKD_STM32_USART_SR_DR 1 /* F4's USART layout (afkd_stm32.h) */
#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 168000000u
#endif
#if AFKD_CLOCK_HZ != 168000000u && AFKD_CLOCK_HZ != 16000000u
#error "stm32f4: AFKD_CLOCK_HZ must be 168000000 (PLL) or 16000000 (HSI)"
#endif

#define RCC_BASE 0x40023800u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x04u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR AFKD_REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR AFKD_REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0x44u)
#define FLASH_ACR AFKD_REG32(0x40023C00u)
#define GPIOA_BASE 0x40020000u

#if defined(AFKD_UART_USART2)
#define USART_BASE 0x40004400u
#define USART_ON_APB2 0
#else
#define USART_BASE 0x40011000u
#define USART_ON_APB2 1
#endif
/* F4's BRR and CR1 (its SR and DR: afkd_stm32.h) */
#define USART_BRR AFKD_REG32(USART_BASE + 0x08u)
#define USART_CR1 AFKD_REG32(USART_BASE + 0x0Cu)

#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define HSI_HZ 16000000u
#define QEMU_SYSCLK_HZ 168000000u  /* hw/arm/netduinoplus2.c: what its SysTick counts */

static uint32_t core_clock_hz = HSI_HZ;
static uint32_t apb1_clock_hz = HSI_HZ;
static uint32_t apb2_clock_hz = HSI_HZ;
static int emulated;

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;  /* what the emulator is taken to model */
        return;
    }
    if (AFKD_CLOCK_HZ == HSI_HZ) {
        return;
    }
    RCC_CR |= RCC_CR_HSEON;
    if (!afkd_wait_for(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        RCC_CR &= ~RCC_CR_HSEON;
        return;  /* no crystal: stay on HSI 16 MHz */
    }
    /* 8 MHz / M=8 -> 1 MHz VCO in, *N=336 -> 336 MHz, /P=2 -> 168 MHz, /Q=7 -> 48 MHz USB. */
    RCC_PLLCFGR = 8u | (336u << 6) | (0u << 16) | (1u << 22) | (7u << 24);
    /* AHB /1, APB1 /4 (42 MHz), APB2 /2 (84 MHz). */
    RCC_CFGR = (RCC_CFGR & ~0xFCF0u) | (5u << 10) | (4u << 13);
    RCC_CR |= RCC_CR_PLLON;
    if (!afkd_wait_for(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        return;
    }
    /* 5 wait states at 3.3 V / 168 MHz, with prefetch and both caches. */
    FLASH_ACR = 5u | (1u << 8) | (1u << 9) | (1u << 10);
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;  /* SW = PLL */
    if (!afkd_wait_for(&RCC_CFGR, 0xCu, 0x8u)) {
        return;
    }
    core_clock_hz = 168000000u;
    apb1_clock_hz = 42000000u;
    apb2_clock_hz = 84000000u;
}

static void uart_init(void)
{
    RCC_AHB1ENR |= 1u << 0;  /* GPIOA */
#if USART_ON_APB2
    RCC_APB2ENR |= 1u << 4;  /* USART1 */
    afkd_gpio_alternate(GPIOA_BASE, 9u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 10u, 7u);
    const uint32_t kernel_hz = apb2_clock_hz;
#else
    RCC_APB1ENR |= 1u << 17;  /* USART2 */
    afkd_gpio_alternate(GPIOA_BASE, 2u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 3u, 7u);
    const uint32_t kernel_hz = apb1_clock_hz;
#endif
    USART_BRR = (kernel_hz + AFKD_BAUD / 2u) / AFKD_BAUD;  /* 16x oversampling: mantissa.fraction */
    USART_CR1 = (1u << 13) | (1u << 3) | (1u << 2);        /* UE | TE | RE */
}

void board_init(void)
{
    clock_init();
    uart_init();
    /* Under QEMU the SysTick counts the emulated 168 MHz whatever clock the build chose. */
    cortex_m_counter_init(emulated ? QEMU_SYSCLK_HZ : core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32f4"
#include "afkd_stm32_board_api.h"
