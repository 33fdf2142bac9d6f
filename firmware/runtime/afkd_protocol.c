/* afkd UART test protocol: receiver state machine and streaming transmitter (afkd_protocol.h). */
#include "afkd_protocol.h"

#include "afkd_crc.h"

enum rx_state {
    RX_HUNT_SYNC0 = 0,
    RX_HUNT_SYNC1,
    RX_TYPE,
    RX_SEQ,
    RX_LENGTH_LO,
    RX_LENGTH_HI,
    RX_PAYLOAD,
    RX_CRC_LO,
    RX_CRC_HI,
};

void afkd_rx_init(afkd_rx_t *rx)
{
    rx->state = RX_HUNT_SYNC0;
    rx->position = 0;
    rx->crc = AFKD_CRC16_INIT;
    rx->crc_received = 0;
    rx->error_code = 0;
    rx->frame.type = 0;
    rx->frame.seq = 0;
    rx->frame.length = 0;
}

afkd_rx_status_t afkd_rx_feed(afkd_rx_t *rx, uint8_t byte)
{
    switch (rx->state) {
    case RX_HUNT_SYNC0:
        if (byte == AFKD_PROTO_SYNC0) {
            rx->state = RX_HUNT_SYNC1;
        }
        return AFKD_RX_MORE;
    case RX_HUNT_SYNC1:
        if (byte == AFKD_PROTO_SYNC1) {
            rx->state = RX_TYPE;
            rx->crc = AFKD_CRC16_INIT;
        } else if (byte != AFKD_PROTO_SYNC0) {
            /* A5 A5 5A must still sync: stay waiting for 5A after a repeated A5. */
            rx->state = RX_HUNT_SYNC0;
        }
        return AFKD_RX_MORE;
    case RX_TYPE:
        rx->frame.type = byte;
        rx->crc = afkd_crc16_byte(rx->crc, byte);
        rx->state = RX_SEQ;
        return AFKD_RX_MORE;
    case RX_SEQ:
        rx->frame.seq = byte;
        rx->crc = afkd_crc16_byte(rx->crc, byte);
        rx->state = RX_LENGTH_LO;
        return AFKD_RX_MORE;
    case RX_LENGTH_LO:
        rx->frame.length = byte;
        rx->crc = afkd_crc16_byte(rx->crc, byte);
        rx->state = RX_LENGTH_HI;
        return AFKD_RX_MORE;
    case RX_LENGTH_HI:
        rx->frame.length |= (uint16_t)((uint16_t)byte << 8);
        rx->crc = afkd_crc16_byte(rx->crc, byte);
        if (rx->frame.length > AFKD_PROTO_MAX_PAYLOAD) {
            /* Refuse before reading: the buffer could not hold it, and the length itself may
             * be the corrupt field. The bytes that follow are hunted through for a sync. */
            rx->error_code = AFKD_ERR_BAD_LENGTH;
            rx->state = RX_HUNT_SYNC0;
            return AFKD_RX_ERROR;
        }
        rx->position = 0;
        rx->state = rx->frame.length ? RX_PAYLOAD : RX_CRC_LO;
        return AFKD_RX_MORE;
    case RX_PAYLOAD:
        rx->frame.payload[rx->position++] = byte;
        rx->crc = afkd_crc16_byte(rx->crc, byte);
        if (rx->position == rx->frame.length) {
            rx->state = RX_CRC_LO;
        }
        return AFKD_RX_MORE;
    case RX_CRC_LO:
        rx->crc_received = byte;
        rx->state = RX_CRC_HI;
        return AFKD_RX_MORE;
    case RX_CRC_HI:
    default:
        rx->crc_received |= (uint16_t)((uint16_t)byte << 8);
        rx->state = RX_HUNT_SYNC0;
        if (rx->crc_received != rx->crc) {
            rx->error_code = AFKD_ERR_BAD_CRC;
            return AFKD_RX_ERROR;
        }
        return AFKD_RX_FRAME;
    }
}

static void tx_raw(afkd_tx_t *tx, uint8_t byte)
{
    tx->crc = afkd_crc16_byte(tx->crc, byte);
    tx->putc(byte);
}

void afkd_tx_begin(afkd_tx_t *tx, afkd_putc_fn putc, uint8_t type, uint8_t seq, uint16_t length)
{
    tx->putc = putc;
    tx->crc = AFKD_CRC16_INIT;
    tx->remaining = length;
    putc(AFKD_PROTO_SYNC0);
    putc(AFKD_PROTO_SYNC1);
    tx_raw(tx, type);
    tx_raw(tx, seq);
    tx_raw(tx, (uint8_t)(length & 0xFFu));
    tx_raw(tx, (uint8_t)(length >> 8));
}

void afkd_tx_bytes(afkd_tx_t *tx, const void *data, size_t length)
{
    const uint8_t *bytes = (const uint8_t *)data;
    for (size_t i = 0; i < length; ++i) {
        tx_raw(tx, bytes[i]);
    }
    tx->remaining = (uint16_t)(tx->remaining - length);
}

void afkd_tx_u8(afkd_tx_t *tx, uint8_t value)
{
    afkd_tx_bytes(tx, &value, 1);
}

void afkd_tx_u16(afkd_tx_t *tx, uint16_t value)
{
    const uint8_t bytes[2] = {(uint8_t)value, (uint8_t)(value >> 8)};
    afkd_tx_bytes(tx, bytes, 2);
}

void afkd_tx_u32(afkd_tx_t *tx, uint32_t value)
{
    const uint8_t bytes[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                              (uint8_t)(value >> 24)};
    afkd_tx_bytes(tx, bytes, 4);
}

int afkd_tx_end(afkd_tx_t *tx)
{
    const uint16_t crc = tx->crc;
    tx->putc((uint8_t)(crc & 0xFFu));
    tx->putc((uint8_t)(crc >> 8));
    return tx->remaining == 0 ? 0 : -1;
}

void afkd_send_error(afkd_putc_fn putc, uint8_t code, uint8_t seq, uint8_t type)
{
    afkd_tx_t tx;
    afkd_tx_begin(&tx, putc, AFKD_MSG_ERROR, seq, 3);
    afkd_tx_u8(&tx, code);
    afkd_tx_u8(&tx, seq);
    afkd_tx_u8(&tx, type);
    afkd_tx_end(&tx);
}
