/* afkd_dense_f32.h - internal: float32 matrix-vector product (pointwise conv, encoder). */
#ifndef AFKD_DENSE_F32_H
#define AFKD_DENSE_F32_H

#include "afkd_kernels.h"

static inline float afkd_clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline void afkd_dense_f32(const afkd_dense_f32_params *p, const float *x, float *out)
{
    for (int32_t r = 0; r < p->rows; r++) {
        const float *w = p->weights + r * p->cols;
        float acc = p->bias != 0 ? p->bias[r] : 0.0f;
        for (int32_t k = 0; k < p->cols; k++) {
            acc += w[k] * x[k];
        }
        out[r] = afkd_clampf(acc, p->act_min, p->act_max);
    }
}

#endif /* AFKD_DENSE_F32_H */
