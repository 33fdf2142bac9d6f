/* afkd_dense_sparse_s8.c - int8 pointwise / encoder layer from bitmap-compressed weights: see
 * afkd_kernels.h (afkd_sparse_s8_params). The output stage is the dense kernel's. */
#include "afkd_kernels.h"
#include "afkd_out_stage_s8.h"
#include "afkd_sparse_walk.h"

AFKD_SPARSE_ROW_SUM(afkd_sparse_row_s8, int8_t)

void afkd_dense_sparse_s8(const afkd_sparse_s8_params *p, const int8_t *in, int8_t *out)
{
    const afkd_dense_s8_params *d = &p->dense;
    const afkd_out_stage_s8 o = {d->multiplier, d->shift, d->output_offset, d->act_min, d->act_max};
    const int32_t rows = d->rows, words = (d->cols + 31) >> 5, fast = d->requant_32bit;
    const uint32_t *bits = p->bitmap;
    const int8_t *values = p->values;
    /* Each sum holds the dense sum's terms less zero products: the same int32 value, so the
     * dense kernel's requant_32bit proof covers it too. */
    for (int32_t r = 0; r < rows; r++, bits += words) {
        const int32_t acc = d->bias[r] + afkd_sparse_row_s8(bits, words, &values, in);
        out[r] = afkd_finish_any_s8(&o, r, acc, fast);
    }
}
