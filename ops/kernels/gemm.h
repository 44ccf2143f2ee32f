/* Dense matrix products (row-major), the core of Gemm, MatMul, Conv and the RNNs.
 * Portable C: no allocation, no globals. Each call computes rows [lo, hi) of C where the
 * M rows are split evenly into nth shares and this call does share ith. */
#ifndef EMBER_K_GEMM_H
#define EMBER_K_GEMM_H
#include <stddef.h>
#include <stdint.h>

/* C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. A is M x K (K x M when transA),
 * B is K x N (N x K when transB); lda/ldb/ldc are row strides in elements.
 * beta == 0 overwrites C without reading it. */
void k_sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
             int64_t ldc, int ith, int nth);
void k_dgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha,
             const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
             int64_t ldc, int ith, int nth);
/* Integer product with 32-bit accumulation: C = A * B (no transposes); used by the
 * quantized ops after zero points have been subtracted. */
void k_igemm(int64_t M, int64_t N, int64_t K, const int32_t *A, int64_t lda, const int32_t *B,
             int64_t ldb, int32_t *C, int64_t ldc, int ith, int nth);

/* The rows [*lo, *hi) of n that share ith of nth computes. */
static inline void k_share(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t per = nth > 0 ? (n + nth - 1) / nth : n;
    *lo = per * ith;
    *hi = *lo + per < n ? *lo + per : n;
    if (*lo > n) *lo = n;
}
#endif
