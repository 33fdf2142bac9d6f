/* MPS2 AN386 board (QEMU mps2-an386): CMSDK APB UART0 at 0x40004000, 25 MHz core clock,
 * SysTick read as an instruction counter under -icount (DWT on a real FPGA board).
 * QEMU's CMSDK UART neither sends nor receives while BAUDDIV < 16, so it is set to the
 * 115200 value even though the emulator does not pace bytes. */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"

#define REG32(address) (*(volatile uint32_t *)(address))
#define UART0_BASE 0x40004000u
#define UART_DATA REG32(UART0_BASE + 0x00u)
#define UART_STATE REG32(UART0_BASE + 0x04u)
#define UART_CTRL REG32(UART0_BASE + 0x08u)
#define UART_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)
#define CORE_CLOCK_HZ 25000000u  /* hw/arm/mps2.c SYSCLK_FRQ */
#define BAUD 115200u

void board_init(void)
{
    UART_BAUDDIV = CORE_CLOCK_HZ / BAUD;
    UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN;
    cortex_m_counter_init(CORE_CLOCK_HZ);
}

int board_uart_getc(void)
{
    while ((UART_STATE & UART_STATE_RX_FULL) == 0u) {
    }
    return (int)(UART_DATA & 0xFFu);
}

void board_uart_putc(uint8_t byte)
{
    while ((UART_STATE & UART_STATE_TX_FULL) != 0u) {
    }
    UART_DATA = byte;
}

void board_uart_flush(void) {}
void board_counter_start(void) { cortex_m_counter_start(); }
uint32_t board_counter_read(void) { return cortex_m_counter_read(); }
uint8_t board_counter_kind(void) { return cortex_m_counter_kind(); }
uint8_t board_icount_shift(void) { return cortex_m_icount_shift(); }
uint32_t board_clock_hz(void) { return CORE_CLOCK_HZ; }
const char *board_name(void) { return "mps2_an386"; }

void board_exit(int code)
{
    if (cortex_m_counter_kind() == AFKD_COUNTER_QEMU_ICOUNT) {
        cortex_m_semihosting_exit(code);
    }
    cortex_m_system_reset();
}
