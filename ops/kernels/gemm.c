/* Blocked matrix products. The float kernel works on 4x8 tiles of C accumulated in
 * registers over blocks of K, with the column tiles outermost so a K-block panel of B stays
 * in cache while every row tile streams past it. */
#include "gemm.h"

#define MR 4
#define NR 8
#define KC 256

/* acc += a-tile (4 rows, element p of row r at a[r][p * as]) times B rows (contiguous
 * 8 columns, row stride ldb). The fixed trip counts keep acc in vector registers. */
static void micro_4x8(int64_t kc, const float *const a[MR], int64_t as,
                      const float *restrict b, int64_t ldb, float acc[MR][NR])
{
    float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0};
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    for (int64_t p = 0; p < kc; p++) {
        const float *restrict bp = b + p * ldb;
        float x0 = a0[p * as], x1 = a1[p * as], x2 = a2[p * as], x3 = a3[p * as];
        for (int u = 0; u < NR; u++) {
            float bu = bp[u];
            c0[u] += x0 * bu;
            c1[u] += x1 * bu;
            c2[u] += x2 * bu;
            c3[u] += x3 * bu;
        }
    }
    for (int u = 0; u < NR; u++) {
        acc[0][u] = c0[u];
        acc[1][u] = c1[u];
        acc[2][u] = c2[u];
        acc[3][u] = c3[u];
    }
}

/* Any tile shape and B layout: B(p, j) = b[p * brs + j * bcs]. */
static void micro_any(int mr, int nr, int64_t kc, const float *const a[MR], int64_t as,
                      const float *b, int64_t brs, int64_t bcs, float acc[MR][NR])
{
    for (int r = 0; r < mr; r++)
        for (int u = 0; u < nr; u++) {
            float s = 0.0f;
            const float *ar = a[r], *bu = b + u * bcs;
            for (int64_t p = 0; p < kc; p++) s += ar[p * as] * bu[p * brs];
            acc[r][u] = s;
        }
}

void k_sgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
             int64_t ldc, int ith, int nth)
{
    int64_t lo, hi;
    k_share(M, ith, nth, &lo, &hi);
    if (K == 0) {
        for (int64_t i = lo; i < hi; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    int64_t ars = transA ? 1 : lda, as = transA ? lda : 1; /* A(i, p) = A[i * ars + p * as] */
    int64_t brs = transB ? 1 : ldb, bcs = transB ? ldb : 1;
    float acc[MR][NR];
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t j0 = 0; j0 < N; j0 += NR) {
            int nr = N - j0 < NR ? (int)(N - j0) : NR;
            const float *bt = B + k0 * brs + j0 * bcs;
            for (int64_t i = lo; i < hi; i += MR) {
                int mr = hi - i < MR ? (int)(hi - i) : MR;
                const float *a[MR];
                for (int r = 0; r < MR; r++) a[r] = A + (i + (r < mr ? r : 0)) * ars + k0 * as;
                if (mr == MR && nr == NR && bcs == 1)
                    micro_4x8(kc, a, as, bt, brs, acc);
                else
                    micro_any(mr, nr, kc, a, as, bt, brs, bcs, acc);
                for (int r = 0; r < mr; r++) {
                    float *c = C + (i + r) * ldc + j0;
                    if (k0 > 0)
                        for (int u = 0; u < nr; u++) c[u] += alpha * acc[r][u];
                    else if (beta == 0.0f)
                        for (int u = 0; u < nr; u++) c[u] = alpha * acc[r][u];
                    else
                        for (int u = 0; u < nr; u++) c[u] = alpha * acc[r][u] + beta * c[u];
                }
            }
        }
    }
}

void k_dgemm(int transA, int transB, int64_t M, int64_t N, int64_t K, double alpha,
             const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
             int64_t ldc, int ith, int nth)
{
    int64_t lo, hi;
    k_share(M, ith, nth, &lo, &hi);
    int64_t ars = transA ? 1 : lda, as = transA ? lda : 1;
    int64_t brs = transB ? 1 : ldb, bcs = transB ? ldb : 1;
    for (int64_t i = lo; i < hi; i++) {
        double *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) c[j] = beta == 0.0 ? 0.0 : beta * c[j];
        for (int64_t p = 0; p < K; p++) {
            double a = alpha * A[i * ars + p * as];
            const double *b = B + p * brs;
            for (int64_t j = 0; j < N; j++) c[j] += a * b[j * bcs];
        }
    }
}

void k_igemm(int64_t M, int64_t N, int64_t K, const int32_t *A, int64_t lda, const int32_t *B,
             int64_t ldb, int32_t *C, int64_t ldc, int ith, int nth)
{
    int64_t lo, hi;
    k_share(M, ith, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        int32_t *c = C + i * ldc;
        for (int64_t j = 0; j < N; j++) c[j] = 0;
        for (int64_t p = 0; p < K; p++) {
            int32_t a = A[i * lda + p];
            const int32_t *b = B + p * ldb;
            /* wrapping arithmetic: no undefined behaviour on overflow */
            for (int64_t j = 0; j < N; j++) c[j] = (int32_t)((uint32_t)c[j] + (uint32_t)a * (uint32_t)b[j]);
        }
    }
}
