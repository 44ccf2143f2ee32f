/* Register tiles for small float32 GEMMs on channels-last pixels (pw_small.c): the 1x1
 * convs of small maps (conv1x1.c). AVX-512; callers check for it. */
#ifndef EMBER_HOST_PW_SMALL_H
#define EMBER_HOST_PW_SMALL_H
#include <stdint.h>

/* x: pixel i's input channel k (k < C, C a multiple of 16) at (k / 16) * xbs + i * xps +
 * k % 16; output vector v (channels 16v..16v+15 of the panel) of pixel i at v * yvs + i *
 * yps, the residual's at v * rvs + i * rps. */
typedef struct ember_pw_small {
    int64_t C, xbs, xps, yvs, yps, rvs, rps;
    float lo, hi; /* the clamp: -inf, +inf without an activation */
} ember_pw_small;

/* One panel of nr (32 or 64) output channels for `pixels` pixels: y = clamp(bias + x . W
 * (+ res)), W packed [C][nr] (64-byte aligned), bias nr floats, res NULL for none. */
void ember_pw_small_panel(const ember_pw_small *a, int64_t nr, int64_t pixels, const float *x, const float *panel,
                          const float *bias, const float *res, float *y);
#endif
