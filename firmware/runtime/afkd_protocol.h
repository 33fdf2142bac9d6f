/* afkd UART test protocol: framing, receiver state machine and streaming transmitter.
 *
 * Frame (all multi-byte fields little-endian), see docs/protocol.md:
 *
 *   0xA5 0x5A | type u8 | seq u8 | length u16 | payload[length] | crc16 u16
 *
 * The CRC (afkd_crc.h, CRC-16/CCITT-FALSE) covers type, seq, length and payload, not the
 * sync bytes. The receiver keeps one frame of at most AFKD_PROTO_MAX_PAYLOAD bytes; the
 * transmitter streams, so an answer longer than that (OUTPUT) needs no buffer.
 * This file knows nothing about the board or the model: it is compiled on the host by the
 * tests and fed frames encoded by afkd/protocol.py.
 */
#ifndef AFKD_PROTOCOL_H
#define AFKD_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define AFKD_PROTO_VERSION 1u
#define AFKD_PROTO_SYNC0 0xA5u
#define AFKD_PROTO_SYNC1 0x5Au
/* Largest payload the firmware accepts (the SAMPLES frame dominates). Overridable at build
 * time; the firmware reports its value in INFO so the host sizes its frames to it. */
#ifndef AFKD_PROTO_MAX_PAYLOAD
#define AFKD_PROTO_MAX_PAYLOAD 256u
#endif
/* Upper bound on hops per SAMPLES frame, whatever the payload room. */
#define AFKD_PROTO_MAX_HOPS_PER_FRAME 16u

/* Host -> firmware requests; each answer has the request's seq. */
enum afkd_msg_type {
    AFKD_MSG_HELLO = 0x01,       /* empty                        -> INFO */
    AFKD_MSG_RESET = 0x02,       /* empty                        -> RESET_DONE (empty) */
    AFKD_MSG_SAMPLES = 0x03,     /* n * HOP samples              -> OUTPUT */
    AFKD_MSG_EXIT = 0x04,        /* empty                        -> BYE, then board_exit(0) */
    AFKD_MSG_CALIBRATE = 0x05,   /* u32 loop iterations          -> CALIBRATION */
    AFKD_MSG_FLUSH = 0x06,       /* empty: finish the stream     -> OUTPUT of one hop */
    AFKD_MSG_INFO = 0x81,        /* also sent unasked at boot with seq 0 */
    AFKD_MSG_RESET_DONE = 0x82,
    AFKD_MSG_OUTPUT = 0x83,      /* per hop: aa[HOP], va[HOP], u32 count */
    AFKD_MSG_BYE = 0x84,
    AFKD_MSG_CALIBRATION = 0x85, /* u32 iterations, u32 count */
    AFKD_MSG_ERROR = 0xEE,       /* u8 code, u8 offending seq, u8 offending type */
};

enum afkd_error_code {
    AFKD_ERR_BAD_CRC = 1,          /* CRC mismatch (also what a truncated frame becomes) */
    AFKD_ERR_BAD_LENGTH = 2,       /* length field above AFKD_PROTO_MAX_PAYLOAD */
    AFKD_ERR_UNKNOWN_TYPE = 3,     /* type not a request */
    AFKD_ERR_BAD_SAMPLE_COUNT = 4, /* SAMPLES payload not 1..max hops of whole samples */
    AFKD_ERR_BAD_PAYLOAD = 5,      /* another request with the wrong payload length */
};

enum afkd_counter_kind {
    AFKD_COUNTER_NONE = 0,         /* counts are 0 */
    AFKD_COUNTER_DWT_CYCLES = 1,   /* DWT CYCCNT core cycles (real board) */
    AFKD_COUNTER_QEMU_ICOUNT = 2,  /* instructions, from SysTick under qemu -icount */
    AFKD_COUNTER_RENODE_INSTRUCTIONS = 3, /* instructions, Renode's own count (the afkd .repl) */
};

typedef struct {
    uint8_t type;
    uint8_t seq;
    uint16_t length;
    uint8_t payload[AFKD_PROTO_MAX_PAYLOAD];
} afkd_frame_t;

typedef enum {
    AFKD_RX_MORE = 0,   /* byte consumed, nothing complete yet */
    AFKD_RX_FRAME = 1,  /* rx->frame holds a frame whose CRC checked */
    AFKD_RX_ERROR = 2,  /* a broken frame: rx->error_code, rx->frame.seq/type say which */
} afkd_rx_status_t;

typedef struct {
    uint8_t state;          /* private: where in the frame the next byte belongs */
    uint16_t position;      /* private: bytes of payload (or CRC) read so far */
    uint16_t crc;           /* private: running CRC of type..payload */
    uint16_t crc_received;  /* private */
    uint8_t error_code;     /* valid after AFKD_RX_ERROR */
    afkd_frame_t frame;
} afkd_rx_t;

void afkd_rx_init(afkd_rx_t *rx);
/* Feed one received byte. After FRAME or ERROR the receiver hunts for the next sync. */
afkd_rx_status_t afkd_rx_feed(afkd_rx_t *rx, uint8_t byte);

/* Streaming transmitter: header, payload pieces, CRC; the caller states the length first. */
typedef void (*afkd_putc_fn)(uint8_t byte);
typedef struct {
    afkd_putc_fn putc;
    uint16_t crc;
    uint16_t remaining;     /* payload bytes still owed; must be 0 at afkd_tx_end */
} afkd_tx_t;

void afkd_tx_begin(afkd_tx_t *tx, afkd_putc_fn putc, uint8_t type, uint8_t seq, uint16_t length);
void afkd_tx_bytes(afkd_tx_t *tx, const void *data, size_t length);
void afkd_tx_u8(afkd_tx_t *tx, uint8_t value);
void afkd_tx_u16(afkd_tx_t *tx, uint16_t value);
void afkd_tx_u32(afkd_tx_t *tx, uint32_t value);
/* Returns 0, or -1 when the payload written differs from the length announced (a bug). */
int afkd_tx_end(afkd_tx_t *tx);

void afkd_send_error(afkd_putc_fn putc, uint8_t code, uint8_t seq, uint8_t type);

/* Little-endian readers for request payloads. */
static inline uint32_t afkd_read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#endif /* AFKD_PROTOCOL_H */
