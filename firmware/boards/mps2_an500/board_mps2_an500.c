/* MPS2 AN500 board (QEMU mps2-an500, Cortex-M7): the AN386 memory map and UART: CMSDK APB UART0 at 0x40004000, 25 MHz core
 * clock, SysTick read as an instruction counter under -icount (DWT on a real FPGA board). */
#include <stdint.h>

#include "afkd_board.h"
#include "afkd_cmsdk_uart.h"
#include "afkd_cortex_m.h"
#include "afkd_protocol.h"

#define UART0_BASE 0x40004000u
#define CORE_CLOCK_HZ 25000000u  /* hw/arm/mps2.c SYSCLK_FRQ */

void board_init(void)
{
    afkd_cmsdk_uart_init(UART0_BASE, CORE_CLOCK_HZ);
    cortex_m_counter_init(CORE_CLOCK_HZ, 0);  /* only QEMU models it, and never with Renode's counter */
}

int board_uart_getc(void) { return afkd_cmsdk_uart_getc(UART0_BASE); }
void board_uart_putc(uint8_t byte) { afkd_cmsdk_uart_putc(UART0_BASE, byte); }
void board_uart_flush(void) {}
void board_counter_start(void) { cortex_m_counter_start(); }
uint32_t board_counter_read(void) { return cortex_m_counter_read(); }
uint8_t board_counter_kind(void) { return cortex_m_counter_kind(); }
uint8_t board_icount_shift(void) { return cortex_m_icount_shift(); }
uint32_t board_clock_hz(void) { return CORE_CLOCK_HZ; }
const char *board_name(void) { return "mps2_an500"; }

void board_exit(int code)
{
    if (cortex_m_counter_kind() == AFKD_COUNTER_QEMU_ICOUNT) {
        cortex_m_semihosting_exit(code);
    }
    cortex_m_system_reset();
}
