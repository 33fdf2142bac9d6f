/* libFuzzer target: arbitrary bytes through a generated model's <prefix>_init / _step /
 * _flush (and the millivolt wrappers), under ASan and UBSan.
 *
 * Built by tests/fuzz/CMakeLists.txt with AFKD_FUZZ_PREFIX (the model's C prefix) and
 * AFKD_FUZZ_MODEL_HEADER ("<prefix>_model.h"). Input layout:
 *
 *   byte 0      mode: bit 0 set = the float mV path (_step_mv / _flush_mv, 4 bytes a sample,
 *               any bit pattern: NaN, inf, denormals); clear = raw samples (1 or 2 bytes
 *               little-endian each, the model's sample type);
 *               bit 1 set = re-initialise the state half-way through the stream
 *   bytes 1..   samples, hop after hop; a short last hop is padded with zeros
 *
 * Every buffer the model sees is heap-allocated to its exact size, so a write one element
 * past a hop or past the state struct is an ASan report, not silent corruption. The stream
 * is run twice from a fresh state and the outputs compared: a step that reads state it
 * never wrote (or any other non-determinism) shows up as a mismatch.
 *
 * AFKD_FUZZ_PLANT_BUG (tests only) hands the model an output buffer one sample short
 * whenever a hop starts with the sample value 42, to show the harness catches such a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include AFKD_FUZZ_MODEL_HEADER

#define AFKD_CAT2(a, b) a##b
#define AFKD_CAT(a, b) AFKD_CAT2(a, b)
#define MODEL(name) AFKD_CAT(AFKD_FUZZ_PREFIX, name)

typedef MODEL(_sample_t) sample_t;
typedef MODEL(_state) state_t;
#define HOP ((size_t)AFKD_CAT(AFKD_FUZZ_PREFIX_UPPER, _HOP))

enum { MODE_MILLIVOLT = 1, MODE_REINIT = 2 };

static size_t sample_width(int millivolt)
{
    return millivolt ? sizeof(float) : sizeof(sample_t);
}

/* Little-endian sample i of the input (zero beyond its end). */
static sample_t raw_sample(const uint8_t *data, size_t size, size_t i)
{
    uint16_t bits = 0;
    for (size_t b = 0; b < sizeof(sample_t); ++b) {
        const size_t at = i * sizeof(sample_t) + b;
        bits |= (uint16_t)((at < size ? data[at] : 0u) << (8u * b));
    }
    return (sample_t)bits;
}

static float mv_sample(const uint8_t *data, size_t size, size_t i)
{
    uint8_t bytes[sizeof(float)] = {0};
    for (size_t b = 0; b < sizeof(float); ++b) {
        const size_t at = i * sizeof(float) + b;
        bytes[b] = at < size ? data[at] : 0u;
    }
    float value;
    memcpy(&value, bytes, sizeof value);
    return value;
}

/* Run the whole stream from a fresh state; out receives every output hop (aa, va per hop,
 * raw samples or float bit patterns), in bytes. Returns the bytes written. */
static size_t run_stream(const uint8_t *data, size_t size, int mode, uint8_t *out)
{
    const int millivolt = mode & MODE_MILLIVOLT;
    const size_t width = sample_width(millivolt);
    const size_t samples = size / width;
    const size_t hops = (samples + HOP - 1) / HOP;
    state_t *state = malloc(sizeof *state);
    size_t written = 0;
    MODEL(_init)(state);
    for (size_t hop = 0; hop <= hops; ++hop) {
        const int flush = hop == hops;
        if (!flush && (mode & MODE_REINIT) && hop == hops / 2) {
            MODEL(_init)(state);
        }
        if (millivolt) {
            float *in = malloc(HOP * sizeof *in), *aa = malloc(HOP * sizeof *aa), *va = malloc(HOP * sizeof *va);
            for (size_t i = 0; i < HOP && !flush; ++i) {
                in[i] = mv_sample(data, samples * width, hop * HOP + i);
            }
            if (flush) {
                MODEL(_flush_mv)(state, aa, va);
            } else {
                MODEL(_step_mv)(state, in, aa, va);
            }
            memcpy(out + written, aa, HOP * sizeof *aa);
            memcpy(out + written + HOP * sizeof *aa, va, HOP * sizeof *va);
            written += 2 * HOP * sizeof *aa;
            free(in), free(aa), free(va);
        } else {
            sample_t *in = malloc(HOP * sizeof *in), *va = malloc(HOP * sizeof *va);
            size_t aa_length = HOP;
            for (size_t i = 0; i < HOP && !flush; ++i) {
                in[i] = raw_sample(data, samples * width, hop * HOP + i);
            }
#ifdef AFKD_FUZZ_PLANT_BUG
            if (!flush && in[0] == 42) {
                aa_length = HOP - 1;  /* the planted bug: the caller's buffer is one sample short */
            }
#endif
            sample_t *aa = malloc(aa_length * sizeof *aa);
            if (flush) {
                MODEL(_flush)(state, aa, va);
            } else {
                MODEL(_step)(state, in, aa, va);
            }
            memcpy(out + written, aa, aa_length * sizeof *aa);
            memcpy(out + written + HOP * sizeof *aa, va, HOP * sizeof *va);
            written += 2 * HOP * sizeof *aa;
            free(in), free(aa), free(va);
        }
    }
    free(state);
    return written;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const int mode = data[0];
    const size_t width = sample_width(mode & MODE_MILLIVOLT);
    const size_t hops = ((size - 1) / width + HOP - 1) / HOP;
    const size_t out_bytes = (hops + 1) * 2 * HOP * width;
    uint8_t *first = calloc(out_bytes, 1), *second = calloc(out_bytes, 1);
    const size_t n1 = run_stream(data + 1, size - 1, mode, first);
    const size_t n2 = run_stream(data + 1, size - 1, mode, second);
    if (n1 != n2 || n1 != out_bytes || memcmp(first, second, n1) != 0) {
        abort();  /* the same stream from the same initial state must give the same bits */
    }
    free(first);
    free(second);
    return 0;
}
