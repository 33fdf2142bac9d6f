/* afkd_dense_sparse_s16.c - 16x8 pointwise / encoder layer from bitmap-compressed weights: see
 * afkd_kernels.h (afkd_sparse_s16_params). The output stage is the dense kernel's, in each of
 * its encodings (afkd_dense_s16_params): SMMULR multipliers, (m16, ts), or int64 bias and sums. */
#include "afkd_kernels.h"
#include "afkd_requant.h"
#include "afkd_sparse_walk.h"

AFKD_SPARSE_ROW_SUM(afkd_sparse_row_s16, int16_t)

/* The int64 path (bias64): TFLite's int64 sum, taken over chunks of at most 32 columns, whose
 * int32 partial sums are below 32 * 2^22. */
static int64_t afkd_sparse_row_s16_wide(const uint32_t *bits, int32_t words, const int8_t **values, const int16_t *x)
{
    int64_t acc = 0;
    for (int32_t j = 0; j < words; j++) {
        acc += afkd_sparse_row_s16(bits + j, 1, values, x + 32 * j);
    }
    return acc;
}

void afkd_dense_sparse_s16(const afkd_sparse_s16_params *p, const int16_t *in, int16_t *out)
{
    const afkd_dense_s16_params *d = &p->dense;
    const int32_t rows = d->rows, words = (d->cols + 31) >> 5;
    const int32_t act_min = d->act_min, act_max = d->act_max;
    const uint32_t *bits = p->bitmap;
    const int8_t *values = p->values;
    for (int32_t r = 0; r < rows; r++, bits += words) {
        int32_t y;
        if (d->bias64 != NULL) {
            const int64_t acc = d->bias64[r] + afkd_sparse_row_s16_wide(bits, words, &values, in);
            y = afkd_requantize16_wide(acc, d->multiplier[r], d->shift[r]);
        } else {
            /* bias64 NULL: the exporter proved |bias| + cols * 2^22 < 2^31, so int32 is exact */
            const int32_t acc = (d->bias != NULL ? d->bias[r] : 0) + afkd_sparse_row_s16(bits, words, &values, in);
            y = d->multiplier32 != NULL ? afkd_smmulr(acc, d->multiplier32[r])
                                        : afkd_requantize16(acc, d->multiplier[r], d->shift[r]);
        }
        out[r] = (int16_t)afkd_clamp(y, act_min, act_max);
    }
}
