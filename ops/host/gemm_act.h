/* The activation epilogue of the host GEMM paths (openblas_gemm.c, gemm_packed.c): the
 * activation the fusion pass attached to a Gemm/MatMul, over a block of output rows. */
#ifndef EMBER_HOST_GEMM_ACT_H
#define EMBER_HOST_GEMM_ACT_H
#include <stdbool.h>
#include <stdint.h>

/* y[r * ld + i] = act(y[r * ld + i]) for r < rows, i < cols; act is a K_ACT_* kind with
 * its parameters (nn_fused_act). Defined in openblas_gemm.c. */
void ember_gemm_act_rows(float *y, int64_t rows, int64_t cols, int64_t ld, int act, float act_a, float act_b);

/* Exact GELU in place over rows x cols (stride ld) with AVX-512; false (nothing done) on
 * hosts without it. gelu_avx512.c. */
bool ember_gelu_rows_avx512(float *y, int64_t rows, int64_t cols, int64_t ld);
#endif
