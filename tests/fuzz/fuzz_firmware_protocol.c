/* libFuzzer target: arbitrary bytes on the UART of the whole firmware harness
 * (firmware/harness/main.c: the afkd_protocol.c frame receiver, every frame handler and the
 * generated model behind afkd_model_glue), under ASan and UBSan.
 *
 * main.c is compiled with main renamed to afkd_firmware_main; this file is its board: the
 * UART reads the fuzz input, writes are checked and dropped, board_exit longjmps back here.
 * Input layout:
 *
 *   byte 0 even  raw mode: bytes 1.. are the UART stream as is (sync hunting, bad CRCs,
 *                oversize lengths, truncated frames)
 *   byte 0 odd   framed mode: bytes 1.. are records  type u8, seq u8, length u16 LE,
 *                payload[length]  (length taken modulo 320, so oversize lengths still
 *                occur; the payload is cut short at the end of the input); each becomes a
 *                frame with sync bytes and a correct CRC, so the handlers behind the CRC
 *                check (SAMPLES, FLUSH, CALIBRATE, ...) are reached with arbitrary payloads.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "afkd_board.h"
#include "afkd_crc.h"
#include "afkd_protocol.h"

int afkd_firmware_main(void);

static const uint8_t *uart_data;
static size_t uart_size, uart_position;
static jmp_buf board_exited;

void board_init(void) {}

int board_uart_getc(void)
{
    return uart_position < uart_size ? uart_data[uart_position++] : -1;
}

void board_uart_putc(uint8_t byte)
{
    (void)byte;
}

void board_uart_flush(void) {}
void board_counter_start(void) {}
uint32_t board_counter_read(void) { return 0u; }
uint8_t board_counter_kind(void) { return AFKD_COUNTER_NONE; }
uint8_t board_icount_shift(void) { return 0xFFu; }
uint32_t board_clock_hz(void) { return 0u; }
const char *board_name(void) { return "fuzz"; }

void board_exit(int code)
{
    longjmp(board_exited, code == 0 ? 1 : 2);
}

/* Framed mode: turn records into frames with correct CRCs; returns a malloc'd stream. */
static uint8_t *frames_from_records(const uint8_t *data, size_t size, size_t *stream_size)
{
    /* Each record of >= 4 input bytes grows by 4 (sync, CRC): at most twice the input. */
    uint8_t *stream = malloc(2 * size + 8);
    size_t in = 0, out = 0;
    while (in + 4 <= size) {
        const uint8_t type = data[in], seq = data[in + 1];
        const uint16_t length = (uint16_t)((data[in + 2] | (data[in + 3] << 8)) % 320u);
        in += 4;
        const size_t available = size - in < length ? size - in : length;
        uint16_t crc = AFKD_CRC16_INIT;
        const uint8_t header[4] = {type, seq, (uint8_t)(length & 0xFFu), (uint8_t)(length >> 8)};
        stream[out++] = AFKD_PROTO_SYNC0;
        stream[out++] = AFKD_PROTO_SYNC1;
        for (size_t i = 0; i < 4; ++i) {
            crc = afkd_crc16_byte(crc, header[i]);
            stream[out++] = header[i];
        }
        for (size_t i = 0; i < available; ++i) {
            crc = afkd_crc16_byte(crc, data[in + i]);
            stream[out++] = data[in + i];
        }
        in += available;
        stream[out++] = (uint8_t)(crc & 0xFFu);
        stream[out++] = (uint8_t)(crc >> 8);
    }
    *stream_size = out;
    return stream;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t *stream = NULL;
    if (data[0] & 1u) {
        stream = frames_from_records(data + 1, size - 1, &uart_size);
        uart_data = stream;
    } else {
        uart_data = data + 1;
        uart_size = size - 1;
    }
    uart_position = 0;
    if (setjmp(board_exited) == 0) {
        afkd_firmware_main();
        abort();  /* main only leaves through board_exit */
    }
    free(stream);
    return 0;
}
