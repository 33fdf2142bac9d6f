/* Host board: the harness as an x86-64 program speaking the protocol on stdin/stdout, for
 * tests and fuzzing. No counter (kind "none", counts 0): host timing says nothing about a
 * Cortex-M4. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afkd_board.h"
#include "afkd_protocol.h"

static unsigned char output_buffer[4096];

void board_init(void)
{
    /* Full buffering plus an explicit flush per answer: one write() per frame. */
    setvbuf(stdout, (char *)output_buffer, _IOFBF, sizeof output_buffer);
}

int board_uart_getc(void)
{
    unsigned char byte;
    for (;;) {
        const ssize_t got = read(STDIN_FILENO, &byte, 1);
        if (got == 1) return byte;
        if (got == 0) return -1;  /* host closed the link */
        if (errno != EINTR) return -1;  /* a broken link ends the session like EOF */
    }
}

void board_uart_putc(uint8_t byte)
{
    putchar(byte);
}

void board_uart_flush(void)
{
    fflush(stdout);
}

void board_counter_start(void) {}
uint32_t board_counter_read(void) { return 0u; }
uint8_t board_counter_kind(void) { return AFKD_COUNTER_NONE; }
uint8_t board_icount_shift(void) { return 0xFFu; }
uint32_t board_clock_hz(void) { return 0u; }
const char *board_name(void) { return "host"; }

void board_exit(int code)
{
    fflush(stdout);
    exit(code);
}
