/* CRC-16/CCITT-FALSE, bit by bit (see afkd_crc.h for the parameters and check value). */
#include "afkd_crc.h"

uint16_t afkd_crc16_byte(uint16_t crc, uint8_t byte)
{
    crc ^= (uint16_t)((uint16_t)byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
        /* MSB first: shift out the top bit and fold the polynomial in when it was set. */
        crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint16_t afkd_crc16(uint16_t crc, const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        crc = afkd_crc16_byte(crc, data[i]);
    }
    return crc;
}
