/* STM32F746 board (Cortex-M7): 216 MHz from the PLL on the 16 MHz HSI (or the HSI itself), a
 * USART at 115200 8N1, instruction and data caches on, DWT cycles on silicon.
 *
 * AFKD_CLOCK_HZ: 216000000 (PLL: HSI / M 8 * N 216 / P 2, over-drive on, 7 flash wait states,
 * APB1 54 MHz, APB2 108 MHz) or 16000000 (HSI, no set-up). UART: AFKD_UART_USART3 (default)
 * TX = PD8, RX = PD9, AF7: the ST-LINK virtual COM port of the Nucleo-F746ZG;
 * AFKD_UART_USART1 TX = PA9, RX = PB7, AF7: that of the STM32F746G-DISCO.
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock or cache set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 216000000u
#endif
#if AFKD_CLOCK_HZ != 216000000u && AFKD_CLOCK_HZ != 16000000u
#error "stm32f746: AFKD_CLOCK_HZ must be 216000000 (PLL) or 16000000 (HSI)"
#endif

#define RCC_BASE 0x40023800u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x04u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR AFKD_REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR AFKD_REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0x44u)
#define PWR_CR1 AFKD_REG32(0x40007000u)
#define PWR_CSR1 AFKD_REG32(0x40007004u)
#define FLASH_ACR AFKD_REG32(0x40023C00u)
#define GPIOA_BASE 0x40020000u
#define GPIOB_BASE 0x40020400u
#define GPIOD_BASE 0x40020C00u
#if defined(AFKD_UART_USART1)
#define USART_BASE 0x40011000u
#else
#define USART_BASE 0x40004800u
#endif
#define SCB_CCR AFKD_REG32(0xE000ED14u)
#define SCB_CCSIDR AFKD_REG32(0xE000ED80u)
#define SCB_CSSELR AFKD_REG32(0xE000ED84u)
#define SCB_ICIALLU AFKD_REG32(0xE000EF50u)
#define SCB_DCISW AFKD_REG32(0xE000EF60u)

static uint32_t core_clock_hz = 16000000u;
static uint32_t apb1_hz = 16000000u, apb2_hz = 16000000u;
static int emulated;

/* Invalidate, then enable, both caches (the M7 resets with them off and their contents
 * undefined). No DMA touches the harness's memory, so a write-back D-cache is safe. */
static void caches_enable(void)
{
    __asm volatile("dsb\n\tisb" : : : "memory");
    SCB_ICIALLU = 0u;
    SCB_CSSELR = 0u;  /* level 1 data cache */
    __asm volatile("dsb" : : : "memory");
    const uint32_t ccsidr = SCB_CCSIDR;
    const uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u, ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t set = 0; set < sets; ++set) {
        for (uint32_t way = 0; way < ways; ++way) {
            SCB_DCISW = (way << 30) | (set << 5);  /* 4 ways, 32-byte lines on the M7 */
        }
    }
    __asm volatile("dsb" : : : "memory");
    SCB_CCR |= (1u << 17) | (1u << 16);  /* IC | DC */
    __asm volatile("dsb\n\tisb" : : : "memory");
}

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = AFKD_CLOCK_HZ;
        return;
    }
    caches_enable();
    if (AFKD_CLOCK_HZ != 216000000u) {
        return;
    }
    RCC_APB1ENR |= 1u << 28;                             /* PWR */
    PWR_CR1 = (PWR_CR1 & ~(3u << 14)) | (3u << 14);      /* voltage scale 1 */
    /* HSI / M 8 = 2 MHz, * N 216 = 432 MHz VCO, / P 2 = 216 MHz, / Q 9 = 48 MHz; source HSI. */
    RCC_PLLCFGR = 8u | (216u << 6) | (0u << 16) | (0u << 22) | (9u << 24);
    RCC_CR |= 1u << 24;  /* PLLON */
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    /* Above 180 MHz the regulator needs over-drive: ODEN, then the switch ODSWEN. */
    PWR_CR1 |= 1u << 16;
    if (!afkd_wait_for(&PWR_CSR1, 1u << 16, 1u << 16)) {
        return;
    }
    PWR_CR1 |= 1u << 17;
    if (!afkd_wait_for(&PWR_CSR1, 1u << 17, 1u << 17)) {
        return;
    }
    FLASH_ACR = 7u | (1u << 8) | (1u << 9);  /* 7 wait states at 216 MHz, prefetch, ART */
    if (!afkd_wait_for(&FLASH_ACR, 0xFu, 7u)) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~0xFCF0u) | (5u << 10) | (4u << 13);  /* AHB /1, APB1 /4, APB2 /2 */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;                            /* SW = PLL */
    if (afkd_wait_for(&RCC_CFGR, 0xCu, 0x8u)) {
        core_clock_hz = 216000000u;
        apb1_hz = 54000000u;
        apb2_hz = 108000000u;
    }
}

void board_init(void)
{
    clock_init();
#if defined(AFKD_UART_USART1)
    RCC_AHB1ENR |= (1u << 0) | (1u << 1);  /* GPIOA, GPIOB */
    RCC_APB2ENR |= 1u << 4;
    afkd_gpio_alternate(GPIOA_BASE, 9u, 7u);
    afkd_gpio_alternate(GPIOB_BASE, 7u, 7u);
    afkd_usart_init(USART_BASE, apb2_hz, 0);
#else
    RCC_AHB1ENR |= 1u << 3;  /* GPIOD */
    RCC_APB1ENR |= 1u << 18;
    afkd_gpio_alternate(GPIOD_BASE, 8u, 7u);
    afkd_gpio_alternate(GPIOD_BASE, 9u, 7u);
    afkd_usart_init(USART_BASE, apb1_hz, 0);
#endif
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32f746"
#include "afkd_stm32_board_api.h"
