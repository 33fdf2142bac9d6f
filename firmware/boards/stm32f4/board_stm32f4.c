/* STM32F405/407 board: 168 MHz from an 8 MHz HSE, USART1 at 115200 8N1, DWT or icount.
 *
 * Pins on a real board: USART1 TX = PA9, RX = PA10 (AF7). QEMU's netduinoplus2 wires its
 * first -serial to USART1 (0x40011000), so the same firmware runs on both.
 *
 * QEMU (7.2) does not model the RCC: the block is an "unimplemented device" that reads 0.
 * RCC_CR is never 0 on silicon (HSION is set out of reset), so a zero read means emulator:
 * skip the PLL, whose ready bits would never come, and take QEMU's fixed 168 MHz sysclk.
 * On silicon every ready-wait has a timeout; a board without a working HSE stays on HSI.
 */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"

#define REG32(address) (*(volatile uint32_t *)(address))
#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define FLASH_ACR REG32(0x40023C00u)
#define GPIOA_MODER REG32(0x40020000u)
#define GPIOA_AFRH REG32(0x40020024u)
#define USART1_BASE 0x40011000u
#define USART_SR REG32(USART1_BASE + 0x00u)
#define USART_DR REG32(USART1_BASE + 0x04u)
#define USART_BRR REG32(USART1_BASE + 0x08u)
#define USART_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_UE (1u << 13)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RE (1u << 2)

#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define HSI_HZ 16000000u
#define PLL_HZ 168000000u
#define QEMU_SYSCLK_HZ 168000000u  /* hw/arm/netduinoplus2.c */
#define BAUD 115200u
#define READY_WAIT_LOOPS 200000u

static uint32_t core_clock_hz = HSI_HZ;
static uint32_t apb2_clock_hz = HSI_HZ;
static int emulated;

static int wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t i = 0; i < READY_WAIT_LOOPS; ++i) {
        if ((*reg & mask) == value) return 1;
    }
    return 0;
}

static void clock_init(void)
{
    if (RCC_CR == 0u) {
        emulated = 1;
        core_clock_hz = QEMU_SYSCLK_HZ;
        apb2_clock_hz = QEMU_SYSCLK_HZ / 2u;  /* unused by QEMU's USART, kept consistent */
        return;
    }
    RCC_CR |= RCC_CR_HSEON;
    if (!wait_for(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        RCC_CR &= ~RCC_CR_HSEON;
        return;  /* no crystal: stay on HSI 16 MHz */
    }
    /* 8 MHz / M=8 -> 1 MHz VCO in, *N=336 -> 336 MHz, /P=2 -> 168 MHz, /Q=7 -> 48 MHz USB. */
    RCC_PLLCFGR = 8u | (336u << 6) | (0u << 16) | (1u << 22) | (7u << 24);
    /* AHB /1, APB1 /4 (42 MHz), APB2 /2 (84 MHz). */
    RCC_CFGR = (RCC_CFGR & ~0xFCF0u) | (5u << 10) | (4u << 13);
    RCC_CR |= RCC_CR_PLLON;
    if (!wait_for(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) {
        return;
    }
    /* 5 wait states at 3.3 V / 168 MHz, with prefetch and both caches. */
    FLASH_ACR = 5u | (1u << 8) | (1u << 9) | (1u << 10);
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;  /* SW = PLL */
    if (!wait_for(&RCC_CFGR, 0xCu, 0x8u)) {
        return;
    }
    core_clock_hz = PLL_HZ;
    apb2_clock_hz = PLL_HZ / 2u;
}

static void uart_init(void)
{
    RCC_AHB1ENR |= 1u << 0;   /* GPIOA */
    RCC_APB2ENR |= 1u << 4;   /* USART1 */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 18)) | (0xAu << 18);  /* PA9, PA10 alternate */
    GPIOA_AFRH = (GPIOA_AFRH & ~0xFF0u) | 0x770u;                 /* AF7 = USART1 */
    USART_BRR = (apb2_clock_hz + BAUD / 2u) / BAUD;  /* 16x oversampling: mantissa.fraction */
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void board_init(void)
{
    clock_init();
    uart_init();
    cortex_m_counter_init(core_clock_hz);
}

int board_uart_getc(void)
{
    while ((USART_SR & USART_SR_RXNE) == 0u) {
    }
    return (int)(USART_DR & 0xFFu);
}

void board_uart_putc(uint8_t byte)
{
    while ((USART_SR & USART_SR_TXE) == 0u) {
    }
    USART_DR = byte;
}

void board_uart_flush(void) {}
void board_counter_start(void) { cortex_m_counter_start(); }
uint32_t board_counter_read(void) { return cortex_m_counter_read(); }
uint8_t board_counter_kind(void) { return cortex_m_counter_kind(); }
uint8_t board_icount_shift(void) { return cortex_m_icount_shift(); }
uint32_t board_clock_hz(void) { return core_clock_hz; }
const char *board_name(void) { return "stm32f4"; }

void board_exit(int code)
{
    while ((USART_SR & (1u << 6)) == 0u && !emulated) {  /* TC: let the last byte leave */
    }
    if (emulated) {
        cortex_m_semihosting_exit(code);
    }
    cortex_m_system_reset();
}
