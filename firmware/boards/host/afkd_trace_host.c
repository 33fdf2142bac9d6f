/* Host debug builds only: append every layer's output frame to the file $AFKD_TRACE_FILE.
 *
 * A generated model built with -DAFKD_TRACE=1 calls afkd_trace_layer() after each layer of
 * each step. Each record is u16 layer index, u16 byte count
 * (little-endian), then the bytes. host_tools/layer_trace.py reads the file back and compares it
 * layer by layer with the NumPy streaming reference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "afkd_trace.h"

void afkd_trace_layer(int index, const void *data, unsigned bytes)
{
    static FILE *trace;
    if (trace == NULL) {
        const char *path = getenv("AFKD_TRACE_FILE");
        if (path == NULL || (trace = fopen(path, "wb")) == NULL) {
            return;  /* no file asked for: tracing is off */
        }
    }
    const uint8_t header[4] = {(uint8_t)index, (uint8_t)(index >> 8), (uint8_t)bytes, (uint8_t)(bytes >> 8)};
    fwrite(header, 1, sizeof header, trace);
    fwrite(data, 1, bytes, trace);
    fflush(trace);
}
