/* STM32H743 board (Cortex-M7): 400 MHz from PLL1 on the 64 MHz HSI (or the HSI itself), a USART
 * at 115200 8N1, instruction and data caches on, DWT cycles on silicon.
 *
 * AFKD_CLOCK_HZ: 400000000 (LDO supply, voltage scale 1; PLL1: HSI / M 16 = 4 MHz * N 200 =
 * 800 MHz VCO / P 2; AXI/AHB 200 MHz, every APB 100 MHz; 2 flash wait states) or 64000000 (HSI,
 * no set-up). UART: AFKD_UART_USART3 (default) TX = PD8, RX = PD9, AF7: the ST-LINK virtual
 * COM port of the Nucleo-H743ZI; AFKD_UART_USART1 TX = PA9, RX = PA10, AF7.
 * Everything lives in the 128 KB DTCM (0x20000000): no cache maintenance, no wait states.
 * An RCC_CR that reads 0 means emulator (afkd_stm32.h): no clock or cache set-up there. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"
#include "afkd_stm32.h"

#ifndef AFKD_CLOCK_HZ
#define AFKD_CLOCK_HZ 400000000u
#endif
#if AFKD_CLOCK_HZ != 400000000u && AFKD_CLOCK_HZ != 64000000u
#error "stm32h743: AFKD_CLOCK_HZ must be 400000000 (PLL1) or 64000000 (HSI)"
#endif

#define RCC_BASE 0x58024400u
#define RCC_CR AFKD_REG32(RCC_BASE + 0x00u)
#define RCC_CFGR AFKD_REG32(RCC_BASE + 0x10u)
#define RCC_D1CFGR AFKD_REG32(RCC_BASE + 0x18u)
#define RCC_D2CFGR AFKD_REG32(RCC_BASE + 0x1Cu)
#define RCC_D3CFGR AFKD_REG32(RCC_BASE + 0x20u)
#define RCC_PLLCKSELR AFKD_REG32(RCC_BASE + 0x28u)
#define RCC_PLLCFGR AFKD_REG32(RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR AFKD_REG32(RCC_BASE + 0x30u)
#define RCC_AHB4ENR AFKD_REG32(RCC_BASE + 0xE0u)
#define RCC_APB1LENR AFKD_REG32(RCC_BASE + 0xE8u)
#define RCC_APB2ENR AFKD_REG32(RCC_BASE + 0xF0u)
#define PWR_CSR1 AFKD_REG32(0x58024804u)
#define PWR_CR3 AFKD_REG32(0x5802480Cu)
#define PWR_D3CR AFKD_REG32(0x58024818u)
#define FLASH_ACR AFKD_REG32(0x52002000u)
#define GPIOA_BASE 0x58020000u
#define GPIOD_BASE 0x58020C00u
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

static uint32_t core_clock_hz = 64000000u;
static uint32_t apb_hz = 64000000u;
static int emulated;

/* Invalidate, then enable, both caches (they reset off with undefined contents). Flash reads
 * go through them; the DTCM does not. No DMA touches the harness's memory. */
static void caches_enable(void)
{
    __asm volatile("dsb\n\tisb" : : : "memory");
    SCB_ICIALLU = 0u;
    SCB_CSSELR = 0u;
    __asm volatile("dsb" : : : "memory");
    const uint32_t ccsidr = SCB_CCSIDR;
    const uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u, ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t set = 0; set < sets; ++set) {
        for (uint32_t way = 0; way < ways; ++way) {
            SCB_DCISW = (way << 30) | (set << 5);
        }
    }
    __asm volatile("dsb" : : : "memory");
    SCB_CCR |= (1u << 17) | (1u << 16);
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
    if (AFKD_CLOCK_HZ != 400000000u) {
        return;
    }
    /* Supply from the LDO (the Nucleo's default; written once after reset), then scale 1. */
    PWR_CR3 = (PWR_CR3 & ~0x7u) | (1u << 1);  /* LDOEN, no bypass, no SMPS */
    if (!afkd_wait_for(&PWR_CSR1, 1u << 13, 1u << 13)) {  /* ACTVOSRDY */
        return;
    }
    PWR_D3CR = (PWR_D3CR & ~(3u << 14)) | (3u << 14);
    if (!afkd_wait_for(&PWR_D3CR, 1u << 13, 1u << 13)) {  /* VOSRDY */
        return;
    }
    /* 2 wait states, WRHIGHFREQ 2 for a 200 MHz AXI clock at scale 1. */
    FLASH_ACR = 2u | (2u << 4);
    if (!afkd_wait_for(&FLASH_ACR, 0x3Fu, 0x22u)) {
        return;
    }
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~0x3F3u) | (16u << 4);  /* source HSI, DIVM1 16 -> 4 MHz */
    /* PLL1: input range 4-8 MHz (2), wide VCO, P output enabled. */
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0xFu) | (2u << 2) | (1u << 16);
    RCC_PLL1DIVR = (199u << 0) | (1u << 9) | (3u << 16) | (1u << 24);  /* N 200, P 2, Q 4, R 2 */
    RCC_CR |= 1u << 24;  /* PLL1ON */
    if (!afkd_wait_for(&RCC_CR, 1u << 25, 1u << 25)) {
        return;
    }
    RCC_D1CFGR = (8u << 0) | (4u << 4);  /* HPRE /2 (200 MHz), D1PPRE /2, D1CPRE /1 */
    RCC_D2CFGR = (4u << 4) | (4u << 8);  /* D2PPRE1 /2, D2PPRE2 /2 */
    RCC_D3CFGR = 4u << 4;                /* D3PPRE /2 */
    RCC_CFGR = (RCC_CFGR & ~7u) | 3u;    /* SW = PLL1 */
    if (afkd_wait_for(&RCC_CFGR, 0x38u, 0x18u)) {
        core_clock_hz = 400000000u;
        apb_hz = 100000000u;
    }
}

void board_init(void)
{
    clock_init();
#if defined(AFKD_UART_USART1)
    RCC_AHB4ENR |= 1u << 0;  /* GPIOA */
    RCC_APB2ENR |= 1u << 4;
    afkd_gpio_alternate(GPIOA_BASE, 9u, 7u);
    afkd_gpio_alternate(GPIOA_BASE, 10u, 7u);
#else
    RCC_AHB4ENR |= 1u << 3;  /* GPIOD */
    RCC_APB1LENR |= 1u << 18;
    afkd_gpio_alternate(GPIOD_BASE, 8u, 7u);
    afkd_gpio_alternate(GPIOD_BASE, 9u, 7u);
#endif
    afkd_usart_init(USART_BASE, apb_hz, 0);  /* kernel clock: its APB clock, the reset choice */
    cortex_m_counter_init(core_clock_hz, emulated);
}

#define AFKD_BOARD_NAME "stm32h743"
#include "afkd_stm32_board_api.h"
