/* afkd firmware harness: answers the UART test protocol (docs/protocol.md) by streaming the
 * host's samples through the generated model, hop by hop, counting cycles or instructions
 * around each afkd_model_step.
 *
 * The model's kind (AFKD_MODEL_KIND in the glue; a glue without it is an f-wave separator)
 * says what a step answers: aa[HOP] then va[HOP], or AFKD_MODEL_OUTPUT_VALUES logits (a rhythm
 * detector's frame, a one-window classifier's window, whose hop is the whole window), or for the
 * monitor (extractor + detector) aa, va and the detector's latest logits.
 *
 * Board-agnostic: everything below talks to afkd_board.h, afkd_model_glue.h and
 * afkd_protocol.h only.
 */
#include <stdint.h>
#include <string.h>

#include "afkd_board.h"
#include "afkd_known_loop.h"
#include "afkd_model_glue.h"
#include "afkd_protocol.h"

#ifndef AFKD_MODEL_KIND
#define AFKD_MODEL_KIND AFKD_KIND_SEPARATOR
#endif
#if AFKD_MODEL_KIND == AFKD_KIND_SEPARATOR
#define OUTPUT_VALUES (2u * (uint32_t)AFKD_MODEL_HOP)
#else
#define OUTPUT_VALUES ((uint32_t)AFKD_MODEL_OUTPUT_VALUES)
#endif

#define HOP_BYTES ((uint32_t)AFKD_MODEL_HOP * (uint32_t)AFKD_MODEL_SAMPLE_BYTES)
#define OUTPUT_RECORD_BYTES (OUTPUT_VALUES * (uint32_t)AFKD_MODEL_SAMPLE_BYTES + 4u)
#define MAX_HOPS_BY_ROOM (AFKD_PROTO_MAX_PAYLOAD / HOP_BYTES)
#define MAX_HOPS_PER_FRAME \
    (MAX_HOPS_BY_ROOM < AFKD_PROTO_MAX_HOPS_PER_FRAME ? MAX_HOPS_BY_ROOM : AFKD_PROTO_MAX_HOPS_PER_FRAME)
#define INFO_STRING_MAX 63u

_Static_assert(AFKD_MODEL_SAMPLE_BYTES == 1 || AFKD_MODEL_SAMPLE_BYTES == 2,
               "AFKD_MODEL_SAMPLE_BYTES must be 1 (int8) or 2 (int16)");
_Static_assert(sizeof(afkd_sample_t) == AFKD_MODEL_SAMPLE_BYTES,
               "afkd_sample_t does not match AFKD_MODEL_SAMPLE_BYTES");
_Static_assert(MAX_HOPS_BY_ROOM >= 1, "one hop of samples must fit AFKD_PROTO_MAX_PAYLOAD");

static afkd_rx_t receiver;
static uint32_t counter_overhead;  /* what start+read alone measure; subtracted from counts */

static void put_byte(uint8_t byte)
{
    board_uart_putc(byte);
}

static uint32_t measure_overhead(void)
{
    /* The smallest of a few tries: the first may pay for cold caches on a real board. */
    uint32_t best = UINT32_MAX;
    for (int i = 0; i < 4; ++i) {
        board_counter_start();
        const uint32_t value = board_counter_read();
        best = value < best ? value : best;
    }
    return best;
}

static uint32_t net_count(uint32_t raw)
{
    return raw > counter_overhead ? raw - counter_overhead : 0u;
}

static uint8_t bounded_strlen(const char *text)
{
    size_t length = strlen(text);
    return (uint8_t)(length > INFO_STRING_MAX ? INFO_STRING_MAX : length);
}

static void send_info(uint8_t seq)
{
    const char *strings[3] = {AFKD_MODEL_NAME, AFKD_MODEL_HASH, board_name()};
    uint8_t lengths[3];
    uint16_t length = 1 + 1 + 2 + 4 + 4 + 1 + 1 + 2 + 1 + 4 + 1 + 2;
    for (int i = 0; i < 3; ++i) {
        lengths[i] = bounded_strlen(strings[i]);
        length = (uint16_t)(length + 1u + lengths[i]);
    }
    afkd_tx_t tx;
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_INFO, seq, length);
    afkd_tx_u8(&tx, AFKD_PROTO_VERSION);
    afkd_tx_u8(&tx, AFKD_MODEL_SAMPLE_BYTES);
    afkd_tx_u16(&tx, AFKD_MODEL_HOP);
    afkd_tx_u32(&tx, (uint32_t)AFKD_MODEL_MACS_PER_HOP);
    afkd_tx_u32(&tx, board_clock_hz());
    afkd_tx_u8(&tx, board_counter_kind());
    afkd_tx_u8(&tx, board_icount_shift());
    afkd_tx_u16(&tx, AFKD_PROTO_MAX_PAYLOAD);
    afkd_tx_u8(&tx, (uint8_t)MAX_HOPS_PER_FRAME);
    afkd_tx_u32(&tx, counter_overhead);
    for (int i = 0; i < 3; ++i) {
        afkd_tx_u8(&tx, lengths[i]);
        afkd_tx_bytes(&tx, strings[i], lengths[i]);
    }
    afkd_tx_u8(&tx, (uint8_t)AFKD_MODEL_KIND);
    afkd_tx_u16(&tx, (uint16_t)OUTPUT_VALUES);
    afkd_tx_end(&tx);
}

static void send_empty(uint8_t type, uint8_t seq)
{
    afkd_tx_t tx;
    afkd_tx_begin(&tx, put_byte, type, seq, 0);
    afkd_tx_end(&tx);
}

static void put_samples(afkd_tx_t *tx, const afkd_sample_t *samples, uint32_t count)
{
    for (uint32_t i = 0; i < count; ++i) {
#if AFKD_MODEL_SAMPLE_BYTES == 1
        afkd_tx_u8(tx, (uint8_t)samples[i]);
#else
        afkd_tx_u16(tx, (uint16_t)samples[i]);
#endif
    }
}

/* One hop of an OUTPUT payload: the step's output values, then the hop's count. */
static void put_hop(afkd_tx_t *tx, const afkd_sample_t *out, uint32_t count)
{
    put_samples(tx, out, OUTPUT_VALUES);
    afkd_tx_u32(tx, count);
}

/* One model step: a separator writes aa then va, a classifier its logits. */
static inline void model_step(const afkd_sample_t *in, afkd_sample_t *out)
{
#if AFKD_MODEL_KIND == AFKD_KIND_SEPARATOR
    afkd_model_step(in, out, out + AFKD_MODEL_HOP);
#else
    afkd_model_step(in, out);
#endif
}

static void get_samples(const uint8_t *bytes, afkd_sample_t *samples)
{
    for (uint32_t i = 0; i < AFKD_MODEL_HOP; ++i) {
#if AFKD_MODEL_SAMPLE_BYTES == 1
        samples[i] = (afkd_sample_t)bytes[i];
#else
        samples[i] = (afkd_sample_t)(uint16_t)(bytes[2 * i] | (bytes[2 * i + 1] << 8));
#endif
    }
}

static void handle_samples(const afkd_frame_t *frame)
{
    const uint32_t hops = frame->length / HOP_BYTES;
    if (frame->length % HOP_BYTES != 0u || hops == 0u || hops > MAX_HOPS_PER_FRAME) {
        afkd_send_error(put_byte, AFKD_ERR_BAD_SAMPLE_COUNT, frame->seq, frame->type);
        return;
    }
    static afkd_sample_t in[AFKD_MODEL_HOP], out[OUTPUT_VALUES];
    afkd_tx_t tx;
    /* Stream each hop's answer as soon as it is computed: no output buffer needed, and the
     * counted stretch holds the model step only, never the UART. */
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_OUTPUT, frame->seq, (uint16_t)(hops * OUTPUT_RECORD_BYTES));
    for (uint32_t hop = 0; hop < hops; ++hop) {
        get_samples(&frame->payload[hop * HOP_BYTES], in);
        board_counter_start();
        model_step(in, out);
        put_hop(&tx, out, net_count(board_counter_read()));
    }
    afkd_tx_end(&tx);
}

/* The separator's last output hop (its latency) is only final once the stream ends: FLUSH
 * returns it, so the host sees as many output samples as it sent. A classifier holds nothing
 * back: its FLUSH answers an OUTPUT of no hops. */
static void handle_flush(const afkd_frame_t *frame)
{
    afkd_tx_t tx;
#if AFKD_MODEL_KIND == AFKD_KIND_SEPARATOR || AFKD_MODEL_KIND == AFKD_KIND_MONITOR
    static afkd_sample_t out[OUTPUT_VALUES];
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_OUTPUT, frame->seq, (uint16_t)OUTPUT_RECORD_BYTES);
    board_counter_start();
#if AFKD_MODEL_KIND == AFKD_KIND_SEPARATOR
    afkd_model_flush(out, out + AFKD_MODEL_HOP);
#else
    afkd_model_flush(out);
#endif
    put_hop(&tx, out, net_count(board_counter_read()));
#else
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_OUTPUT, frame->seq, 0);
#endif
    afkd_tx_end(&tx);
}

#if AFKD_MODEL_KIND == AFKD_KIND_DETECTOR || AFKD_MODEL_KIND == AFKD_KIND_MONITOR
/* The detector's answer so far, as <prefix>_result gives it: frames, decision, running sums. */
static void handle_result(const afkd_frame_t *frame)
{
    int32_t sums[AFKD_MODEL_CLASSES];
    uint32_t frames = 0;
    const uint32_t decision = afkd_model_result(sums, &frames);
    afkd_tx_t tx;
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_RESULT_ANSWER, frame->seq, (uint16_t)(4u + 1u + 1u + 4u * AFKD_MODEL_CLASSES));
    afkd_tx_u32(&tx, frames);
    afkd_tx_u8(&tx, (uint8_t)decision);
    afkd_tx_u8(&tx, (uint8_t)AFKD_MODEL_CLASSES);
    for (uint32_t c = 0; c < AFKD_MODEL_CLASSES; ++c) {
        afkd_tx_u32(&tx, (uint32_t)sums[c]);
    }
    afkd_tx_end(&tx);
}
#endif

static void handle_calibrate(const afkd_frame_t *frame)
{
    if (frame->length != 4u || afkd_read_u32(frame->payload) == 0u) {
        afkd_send_error(put_byte, AFKD_ERR_BAD_PAYLOAD, frame->seq, frame->type);
        return;
    }
    const uint32_t iterations = afkd_read_u32(frame->payload);
    board_counter_start();
    afkd_known_loop(iterations);
    const uint32_t count = net_count(board_counter_read());
    afkd_tx_t tx;
    afkd_tx_begin(&tx, put_byte, AFKD_MSG_CALIBRATION, frame->seq, 8);
    afkd_tx_u32(&tx, iterations);
    afkd_tx_u32(&tx, count);
    afkd_tx_end(&tx);
}

static int handle_frame(const afkd_frame_t *frame)
{
    const int empty = frame->length == 0u;
    switch (frame->type) {
    case AFKD_MSG_HELLO:
        if (!empty) break;
        send_info(frame->seq);
        return 0;
    case AFKD_MSG_RESET:
        if (!empty) break;
        afkd_model_reset();
        send_empty(AFKD_MSG_RESET_DONE, frame->seq);
        return 0;
    case AFKD_MSG_SAMPLES:
        handle_samples(frame);
        return 0;
    case AFKD_MSG_CALIBRATE:
        handle_calibrate(frame);
        return 0;
    case AFKD_MSG_FLUSH:
        if (!empty) break;
        handle_flush(frame);
        return 0;
#if AFKD_MODEL_KIND == AFKD_KIND_DETECTOR || AFKD_MODEL_KIND == AFKD_KIND_MONITOR
    case AFKD_MSG_RESULT:
        if (!empty) break;
        handle_result(frame);
        return 0;
#endif
    case AFKD_MSG_EXIT:
        if (!empty) break;
        send_empty(AFKD_MSG_BYE, frame->seq);
        return 1;
    default:
        afkd_send_error(put_byte, AFKD_ERR_UNKNOWN_TYPE, frame->seq, frame->type);
        return 0;
    }
    afkd_send_error(put_byte, AFKD_ERR_BAD_PAYLOAD, frame->seq, frame->type);
    return 0;
}

int main(void)
{
    board_init();
    afkd_model_reset();
    counter_overhead = measure_overhead();
    afkd_rx_init(&receiver);
    send_info(0);  /* unasked: tells the host the firmware is up and listening */
    board_uart_flush();
    for (;;) {
        const int byte = board_uart_getc();
        if (byte < 0) {
            break;
        }
        const afkd_rx_status_t status = afkd_rx_feed(&receiver, (uint8_t)byte);
        int leave = 0;
        if (status == AFKD_RX_FRAME) {
            leave = handle_frame(&receiver.frame);
        } else if (status == AFKD_RX_ERROR) {
            afkd_send_error(put_byte, receiver.error_code, receiver.frame.seq, receiver.frame.type);
        }
        if (status != AFKD_RX_MORE) {
            board_uart_flush();
        }
        if (leave) {
            break;
        }
    }
    board_exit(0);
}
