/* Resize as separable 1-D passes: per axis, a table gives each output index its source
 * taps and weights (ONNX reference rules for every coordinate transformation), and a pass
 * applies it along that axis with the inner dims contiguous. Portable C. */
#ifndef EMBER_K_RESIZE_H
#define EMBER_K_RESIZE_H
#include <stdint.h>

enum { K_RS_NEAREST, K_RS_LINEAR, K_RS_CUBIC };
enum {
    K_CT_HALF_PIXEL, K_CT_PYTORCH_HALF_PIXEL, K_CT_ALIGN_CORNERS, K_CT_ASYMMETRIC,
    K_CT_TF_HALF_PIXEL_FOR_NN, K_CT_TF_CROP_AND_RESIZE
};
enum { K_NM_ROUND_PREFER_FLOOR, K_NM_ROUND_PREFER_CEIL, K_NM_FLOOR, K_NM_CEIL, K_NM_SIMPLE };

typedef struct k_resize_axis {
    int mode, ctm, nearest, exclude_outside;
    double scale, roi_start, roi_end, cubic_a;
    int64_t in, out;
} k_resize_axis;

/* Taps per output index for a mode: 1, 2 or 4. */
int k_resize_taps(int mode);
/* Fills idx/w (out * taps entries) and outside (out entries: 1 = extrapolate). Returns 1
 * when the table is the identity (the pass can be skipped). */
int k_resize_table(const k_resize_axis *a, int64_t *idx, float *w, unsigned char *outside);
/* y[o][q][i] = sum_t w[q][t] * x[o][idx[q][t]][i] (or extrap where outside) for x of shape
 * [outer, in, inner] and y of [outer, out, inner]; outer rows split between threads. */
void k_resize_pass_f32(const float *x, int64_t outer, int64_t in, int64_t inner, int64_t out,
                       int taps, const int64_t *idx, const float *w, const unsigned char *outside,
                       float extrap, float *y, int ith, int nth);
#endif
