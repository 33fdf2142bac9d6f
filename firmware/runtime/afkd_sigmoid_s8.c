/*
 * afkd_sigmoid_s8.c - TFLite LOGISTIC int8 as a 256-entry table lookup. The table is
 * computed at generation time by export/intops.py sigmoid_table_s8(), which runs the
 * reference fixed-point arithmetic on every possible input, so a lookup gives its bits.
 */
#include "afkd_kernels.h"

void afkd_sigmoid_s8(const int8_t *table, const int8_t *in, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = table[(uint8_t)in[i]];
    }
}
