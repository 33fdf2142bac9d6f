/* CRC-16/CCITT-FALSE for the afkd UART test protocol (docs/protocol.md).
 *
 * Parameters: width 16, poly 0x1021, init 0xFFFF, no reflection, xorout 0x0000.
 * Check value: afkd_crc16(0xFFFF, "123456789", 9) == 0x29B1.
 * Bitwise, no table: 512 bytes of flash saved, and a frame of a few hundred bytes
 * costs a few thousand cycles, negligible beside the UART time.
 */
#ifndef AFKD_CRC_H
#define AFKD_CRC_H

#include <stddef.h>
#include <stdint.h>

#define AFKD_CRC16_INIT 0xFFFFu

/* Continue a CRC over `length` more bytes; start with AFKD_CRC16_INIT. */
uint16_t afkd_crc16(uint16_t crc, const uint8_t *data, size_t length);

/* One byte at a time, for the streaming transmitter and receiver. */
uint16_t afkd_crc16_byte(uint16_t crc, uint8_t byte);

#endif /* AFKD_CRC_H */
