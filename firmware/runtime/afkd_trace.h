/*
 * The layer trace hook of the generated step.
 *
 * A host debug build (-DAFKD_TRACE=1, `afkd validate`'s trace build) hands every layer's output
 * frame to afkd_trace_layer() (firmware/boards/host/afkd_trace_host.c) after the call that
 * writes it, so host_tools/layer_trace.py can name the first layer that differs from the
 * reference. In every other build the hook compiles to nothing, so both run the same calls.
 */
#ifndef AFKD_TRACE_H
#define AFKD_TRACE_H

#if defined(AFKD_TRACE) && AFKD_TRACE
void afkd_trace_layer(int index, const void *data, unsigned bytes);
#define AFKD_TRACE_LAYER(index, data, bytes) afkd_trace_layer((index), (data), (bytes))
#else
#define AFKD_TRACE_LAYER(index, data, bytes) ((void)0)
#endif

#endif /* AFKD_TRACE_H */
