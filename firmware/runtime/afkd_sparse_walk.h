/*
 * afkd_sparse_walk.h - internal: the bitmap walk of the sparse-weight kernels (afkd_kernels.h,
 * afkd_sparse_s8_params): one row's nonzero weights times the inputs they multiply.
 *
 * Per set bit, the count of trailing zeros gives the column (RBIT + CLZ on Cortex-M3/M4),
 * and m & (m - 1) clears it, so the work grows with the nonzero weights, not with cols.
 */
#ifndef AFKD_SPARSE_WALK_H
#define AFKD_SPARSE_WALK_H

#include <stdint.h>

static inline int32_t afkd_ctz32(uint32_t m)  /* m != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(m);
#else
    int32_t k = 0;
    while ((m & 1u) == 0u) {
        m >>= 1;
        k++;
    }
    return k;
#endif
}

/* Sum of w * x over one row: `words` bitmap words, its nonzero weights from *values (advanced
 * past them). int32 sums: the callers use it where the dense kernel's int32 sum is exact. */
#define AFKD_SPARSE_ROW_SUM(name, xtype)                                                          \
    static inline int32_t name(const uint32_t *bits, int32_t words, const int8_t **values,       \
                               const xtype *x)                                                    \
    {                                                                                             \
        const int8_t *v = *values;                                                                \
        int32_t acc = 0;                                                                          \
        for (int32_t j = 0; j < words; j++) {                                                     \
            const xtype *xw = x + 32 * j; /* only columns below cols have bits */                 \
            uint32_t m = bits[j];                                                                 \
            while (m != 0u) {                                                                     \
                const int32_t k = afkd_ctz32(m);                                                  \
                m &= m - 1u;                                                                      \
                acc += (int32_t)*v++ * xw[k];                                                     \
            }                                                                                     \
        }                                                                                         \
        *values = v;                                                                              \
        return acc;                                                                               \
    }

#endif /* AFKD_SPARSE_WALK_H */
