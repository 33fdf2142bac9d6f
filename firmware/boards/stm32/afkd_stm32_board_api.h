/* The afkd board interface (afkd_board.h) of an STM32 board whose UART is one USART and whose
 * counter is the shared Cortex-M one. Included once, at the end of a board's .c file, which
 * defines before it: USART_BASE, AFKD_BOARD_NAME (a string), and the file-scope variables
 * core_clock_hz (the clock the board set up) and emulated (nonzero under QEMU or Renode).
 * Only the clock and pin set-up differ between these boards; this is what they share. */
#ifndef AFKD_STM32_BOARD_API_H
#define AFKD_STM32_BOARD_API_H

int board_uart_getc(void) { return afkd_usart_getc(USART_BASE); }
void board_uart_putc(uint8_t byte) { afkd_usart_putc(USART_BASE, byte); }
void board_uart_flush(void) {}
void board_counter_start(void) { cortex_m_counter_start(); }
uint32_t board_counter_read(void) { return cortex_m_counter_read(); }
uint8_t board_counter_kind(void) { return cortex_m_counter_kind(); }
uint8_t board_icount_shift(void) { return cortex_m_icount_shift(); }
uint32_t board_clock_hz(void) { return core_clock_hz; }
const char *board_name(void) { return AFKD_BOARD_NAME; }

void board_exit(int code)
{
    if (emulated) {
        cortex_m_semihosting_exit(code);
    }
    afkd_usart_drain(USART_BASE);
    cortex_m_system_reset();
}

#endif
