/* The board interface the harness calls: one implementation per folder in firmware/boards/.
 *
 * Every folder (stm32f4, stm32l476, stm32f746, stm32h743, stm32u585, stm32l552, stm32g071,
 * stm32l072, mps2_an386, mps2_an500, mps2_an505, host; export/boards.py describes them)
 * implements every function below; the harness and the model never touch a register.
 */
#ifndef AFKD_BOARD_H
#define AFKD_BOARD_H

#include <stdint.h>

/* Clocks, UART and the counter; called once, first thing in main. */
void board_init(void);

/* Blocking read of one byte from the host link: 0..255, or -1 when the link is closed for
 * good (host build at end of stdin). MCU boards never return -1. */
int board_uart_getc(void);
void board_uart_putc(uint8_t byte);
/* Push buffered output out (host build); a no-op where putc is unbuffered. */
void board_uart_flush(void);

/* Measure a stretch of code: board_counter_read() gives the units of board_counter_kind()
 * (enum afkd_counter_kind: core cycles, instructions, or 0) elapsed since the last
 * board_counter_start(), start/read overhead included (the harness subtracts it). */
void board_counter_start(void);
uint32_t board_counter_read(void);
uint8_t board_counter_kind(void);
/* log2 of the nanoseconds per instruction QEMU was started with (-icount shift=N), as found
 * by the board's calibration at boot; 0xFF when the counter is not QEMU's icount. */
uint8_t board_icount_shift(void);

/* Core clock the firmware runs at (what the emulator models, under an emulator). */
uint32_t board_clock_hz(void);
/* Short name of the board (its folder), for INFO: "stm32f4", "stm32g071", "host", ... */
const char *board_name(void);

/* Leave: semihosting exit under QEMU, process exit on the host, system reset on a board. */
void board_exit(int code) __attribute__((noreturn));

#endif /* AFKD_BOARD_H */
