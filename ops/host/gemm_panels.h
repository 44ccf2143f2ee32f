/* The packed-panel product of gemm_packed.c for other host kernels (attention.c): B
 * packed into panels of 64 columns ([N/64][K][64], zero padded) and multiplied by
 * AVX-512 register tiles. */
#ifndef EMBER_HOST_GEMM_PANELS_H
#define EMBER_HOST_GEMM_PANELS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this host runs the panel kernels (AVX-512F); the calls below need it (B with
 * ldb * 15 within int32 for the transposed packing). */
bool ember_panels_available(void);
/* Floats the panels of a K x N B take. */
size_t ember_panels_size(int64_t K, int64_t N);
/* dst = alpha * B in panels, B(k, n) = tb ? b[n * ldb + k] : b[k * ldb + n]. */
void ember_panels_pack(const float *b, int64_t ldb, int tb, int64_t K, int64_t N, float alpha, float *dst);
/* y[M x N] (row stride ldy) = bias + a[M x K] (row stride lda) . packed B, the bias a
 * row of N floats padded with zeros to the panels' width (ember_panels_size(1, N)) or
 * NULL for none. */
void ember_panels_gemm(const float *a, int64_t lda, const float *packed, const float *bias, float *y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K);
#endif
