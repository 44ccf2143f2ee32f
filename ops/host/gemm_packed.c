/* Gemm with a constant B (the weights of every Linear layer once matmul-bias has turned
 * MatMul + Add into Gemm) through B packed once, when the program is built, into panels
 * of 64 columns ([N/64][K][64], zero padded), and an AVX-512 register-tile kernel: 6 rows
 * x 64 columns of Y in 24 accumulators, one broadcast of A per row and k, the bias loaded
 * into the accumulators, Y written once (6 x 64 ran 183 GFLOP/s on bert's shapes where
 * 8 x 32 ran 171: fewer B loads per multiply-add). OpenBLAS (openblas_gemm.c) packs B on
 * every call, which on the small products of transformer encoders costs as much as the
 * multiply: bert_tiny_like's [64,128]x[128,512] took 65 us there against ~49 us here,
 * [64,128]x[128,128] 18 against ~12.5 (one thread, the 2-core development machine).
 *
 * Takes float32 Gemm with transA = 0, alpha = 1, a constant rank-2 B (either transB),
 * and C absent or a constant broadcast along rows (scalar, [N], [1, N]); the fused
 * activation runs over each finished block of rows (gemm_act.h). Needs AVX-512F at run
 * time (declines otherwise, and on other architectures: OpenBLAS takes the node). Each
 * output element is one dot product over all of K in k order, whatever the split between
 * threads (output column panels, or row blocks when there are fewer panels than
 * threads). */
#include <stdlib.h>

#include "../host.h"
#include "../kernels/activation.h"
#include "../nn_common.h"
#include "gemm_act.h"
#include "gemm_panels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PACKED_GEMM 1
#endif

#define NV 4             /* 16-float vectors per panel row */
#define NR (16 * NV)     /* columns per panel */
#define MR 6             /* rows per register tile: 6 x 4 accumulators, 4 B vectors, a broadcast */
#define MIN_M 1 /* one-row products too: from L2, the register tiles stream the packed
                   * panels at ~2x OpenBLAS's sgemv (ad_autoencoder's 640 x 128 layers:
                   * 4.0-4.4 -> 2.3 us; the model 14 -> 8.1 us a run) */
/* B must stay in L2 (every row tile streams all of it) and a panel's K rows short: there
 * is no blocking beyond the register tile. Measured against OpenBLAS (1 thread, GFLOP/s):
 * M64 N256 K1024 176 vs 119, M512 N512 K512 165 vs 141; over the limits M64 N256 K4096
 * 73 vs 108, M256 N1024 K1024 72 vs 129, M16 N4096 K4096 23 vs 42. */
#define MAX_K 1024
#define MAX_B_FLOATS (512 * 512)
#define SHARE_MACS 262144 /* multiply-adds per share when a product is split */

typedef struct packed_gemm {
    int64_t M, N, K, panels;
    float *b;    /* [panels][K][NR] */
    float *bias; /* [panels * NR], beta * C broadcast; zeros when C is absent */
    int act;
    float act_a, act_b;
} packed_gemm;

static void packed_free(void *state)
{
    packed_gemm *s = state;
    if (!s) return;
    free(s->b);
    free(s->bias);
    free(s);
}

#ifdef PACKED_GEMM
/* Y[rows, NR columns] = bias + A[rows, K] . P[K, NR] for rows = R (a compile-time count:
 * the accumulators stay in registers); columns outside the masks m[NV] are not stored. */
#define PACKED_TILE(R)                                                                                   \
    __attribute__((target("avx512f"))) static void tile_##R(int64_t K, const float *a, int64_t lda,    \
                                                            const float *p, const float *bias, float *y,  \
                                                            int64_t ldy, const __mmask16 *m)             \
    {                                                                                                    \
        __m512 c[R][NV];                                                                                 \
        for (int v = 0; v < NV; v++) {                                                                   \
            __m512 b = _mm512_loadu_ps(bias + 16 * v);                                                   \
            for (int i = 0; i < R; i++) c[i][v] = b;                                                     \
        }                                                                                                \
        for (int64_t k = 0; k < K; k++) {                                                                \
            __m512 b[NV];                                                                                \
            for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(p + k * NR + 16 * v);                   \
            for (int i = 0; i < R; i++) {                                                                \
                __m512 x = _mm512_set1_ps(a[i * lda + k]);                                               \
                for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(x, b[v], c[i][v]);                \
            }                                                                                            \
        }                                                                                                \
        for (int i = 0; i < R; i++)                                                                      \
            for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(y + i * ldy + 16 * v, m[v], c[i][v]);     \
    }
PACKED_TILE(6)
PACKED_TILE(4)
PACKED_TILE(2)
PACKED_TILE(1)

/* Store masks of the NV vectors of a panel holding `cols` (<= NR) real columns. */
static void panel_masks(int64_t cols, __mmask16 *m)
{
    for (int v = 0; v < NV; v++) {
        int64_t c = cols - 16 * v;
        m[v] = (__mmask16)(c >= 16 ? 0xffff : c <= 0 ? 0 : (1u << c) - 1);
    }
}

/* Rows [r0, r1) x panels [p0, p1) of Y = bias + A . B (B packed: `packed`, K x N; bias
 * NULL: zeros), then the activation (K_ACT_NONE: none) over those rows. */
static void panels_block(const float *a, int64_t lda, const float *packed, const float *bias, float *y, int64_t ldy,
                         int64_t N, int64_t K, int64_t r0, int64_t r1, int64_t p0, int64_t p1, int act, float act_a,
                         float act_b)
{
    static const float zeros[NR];
    for (int64_t r = r0; r < r1;) {
        int64_t rows = r1 - r >= MR ? MR : r1 - r >= 4 ? 4 : r1 - r >= 2 ? 2 : 1;
        for (int64_t p = p0; p < p1; p++) {
            __mmask16 m[NV];
            panel_masks(N - p * NR, m);
            const float *ar = a + r * lda, *pp = packed + p * K * NR, *bb = bias ? bias + p * NR : zeros;
            float *yr = y + r * ldy + p * NR;
            switch (rows) {
            case MR: tile_6(K, ar, lda, pp, bb, yr, ldy, m); break;
            case 4: tile_4(K, ar, lda, pp, bb, yr, ldy, m); break;
            case 2: tile_2(K, ar, lda, pp, bb, yr, ldy, m); break;
            default: tile_1(K, ar, lda, pp, bb, yr, ldy, m); break;
            }
        }
        if (act != K_ACT_NONE) {
            int64_t c0 = p0 * NR, c1 = p1 * NR < N ? p1 * NR : N;
            ember_gemm_act_rows(y + r * ldy + c0, rows, c1 - c0, ldy, act, act_a, act_b);
        }
        r += rows;
    }
}

static void packed_block(const packed_gemm *s, const float *a, float *y, int64_t r0, int64_t r1, int64_t p0,
                         int64_t p1)
{
    panels_block(a, s->K, s->b, s->bias, y, s->N, s->N, s->K, r0, r1, p0, p1, s->act, s->act_a, s->act_b);
}

bool ember_panels_available(void) { return __builtin_cpu_supports("avx512f"); }

size_t ember_panels_size(int64_t K, int64_t N) { return (size_t)((N + NR - 1) / NR) * (size_t)K * NR; }

/* A panel row is NR consecutive floats of a B row, or (transposed B) one float of each of
 * NR B rows, gathered: attention packs a 64 x 64 head per call, where a scalar loop took
 * 3 us. Columns past N are zeros. */
__attribute__((target("avx512f"))) void ember_panels_pack(const float *b, int64_t ldb, int tb, int64_t K, int64_t N,
                                                          float alpha, float *dst)
{
    int64_t panels = (N + NR - 1) / NR;
    __m512 va = _mm512_set1_ps(alpha);
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)ldb));
    for (int64_t p = 0; p < panels; p++) {
        __mmask16 m[NV];
        panel_masks(N - p * NR, m);
        for (int64_t k = 0; k < K; k++)
            for (int v = 0; v < NV; v++) {
                __m512 x = _mm512_setzero_ps();
                if (tb && m[v])
                    x = _mm512_mask_i32gather_ps(x, m[v], idx, b + (p * NR + 16 * v) * ldb + k, 4);
                else if (!tb)
                    x = _mm512_maskz_loadu_ps(m[v], b + k * ldb + p * NR + 16 * v);
                _mm512_storeu_ps(dst + (p * K + k) * NR + 16 * v, _mm512_mul_ps(x, va));
            }
    }
}

void ember_panels_gemm(const float *a, int64_t lda, const float *packed, const float *bias, float *y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K)
{
    panels_block(a, lda, packed, bias, y, ldy, N, K, 0, M, 0, (N + NR - 1) / NR, K_ACT_NONE, 0.0f, 0.0f);
}

typedef struct packed_job {
    const packed_gemm *s;
    const float *a;
    float *y;
} packed_job;

static void packed_share(void *ctx, int ith, int nth)
{
    const packed_job *j = ctx;
    const packed_gemm *s = j->s;
    int64_t r0 = 0, r1 = s->M, p0 = 0, p1 = s->panels;
    if (nth > 1) {
        if (s->panels >= nth) ember_host_share(s->panels, 1, ith, nth, &p0, &p1);
        else ember_host_share(s->M, MR, ith, nth, &r0, &r1); /* row blocks in whole tiles */
    }
    if (r0 < r1 && p0 < p1) packed_block(s, j->a, j->y, r0, r1, p0, p1);
}
#else
bool ember_panels_available(void) { return false; }
size_t ember_panels_size(int64_t K, int64_t N) { return (size_t)((N + NR - 1) / NR) * (size_t)K * NR; }
void ember_panels_pack(const float *b, int64_t ldb, int tb, int64_t K, int64_t N, float alpha, float *dst)
{
    (void)b, (void)ldb, (void)tb, (void)K, (void)N, (void)alpha, (void)dst;
}
void ember_panels_gemm(const float *a, int64_t lda, const float *packed, const float *bias, float *y, int64_t ldy,
                       int64_t M, int64_t N, int64_t K)
{
    (void)a, (void)lda, (void)packed, (void)bias, (void)y, (void)ldy, (void)M, (void)N, (void)K;
}
#endif

static ember_status packed_prepare(ember_op_ctx *c, int threads, void **state)
{
    (void)threads;
#ifndef PACKED_GEMM
    (void)c;
    (void)state;
    return EMBER_E_UNSUPPORTED;
#else
    if (!__builtin_cpu_supports("avx512f")) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1), *cc = ember_op_in(c, 2);
    const ember_op_tensor *y = c->out[0];
    if (!a || !b || !y || a->dtype != EMBER_DT_FLOAT || b->dtype != EMBER_DT_FLOAT || y->dtype != EMBER_DT_FLOAT ||
        a->rank != 2 || b->rank != 2 || y->rank != 2 || !b->data)
        return EMBER_E_UNSUPPORTED;
    if (ember_attr_int(c->node, "transA", 0) != 0 || ember_attr_float(c->node, "alpha", 1.0f) != 1.0f)
        return EMBER_E_UNSUPPORTED;
    int tb = ember_attr_int(c->node, "transB", 0) != 0;
    float beta = ember_attr_float(c->node, "beta", 1.0f);
    int64_t M = y->dims[0], N = y->dims[1], K = a->dims[1];
    if (M < MIN_M || N < 1 || K < 1 || (tb ? b->dims[1] : b->dims[0]) != K || (tb ? b->dims[0] : b->dims[1]) != N ||
        K > MAX_K || K * N > MAX_B_FLOATS)
        return EMBER_E_UNSUPPORTED;
    /* C: only forms constant along rows, known now */
    int64_t cn = 0;
    if (cc && beta != 0.0f) {
        if (cc->dtype != EMBER_DT_FLOAT || !cc->data) return EMBER_E_UNSUPPORTED;
        int64_t n = ember_op_numel(cc);
        if (cc->rank > 2 || (cc->rank == 2 && cc->dims[0] != 1) || (n != 1 && n != N)) return EMBER_E_UNSUPPORTED;
        cn = n;
    }
    packed_gemm *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    ember_status r = nn_fused_act(c, &s->act, &s->act_a, &s->act_b);
    if (r != EMBER_OK) {
        free(s);
        return r;
    }
    s->M = M, s->N = N, s->K = K, s->panels = (N + NR - 1) / NR;
    size_t pbytes = (size_t)s->panels * (size_t)K * NR * sizeof(float);
    s->b = aligned_alloc(64, pbytes);
    s->bias = calloc((size_t)s->panels * NR, sizeof(float));
    if (!s->b || !s->bias) {
        packed_free(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory packing a %lldx%lld weight", (long long)K,
                             (long long)N);
    }
    ember_panels_pack(b->data, tb ? K : N, tb, K, N, 1.0f, s->b);
    const float *cd = cn ? cc->data : NULL;
    for (int64_t n = 0; cd && n < N; n++) s->bias[n] = beta * cd[cn == 1 ? 0 : n];
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status packed_run(ember_op_ctx *c, void *state)
{
#ifdef PACKED_GEMM
    const packed_gemm *s = state;
    packed_job j = {.s = s, .a = c->in[0]->data, .y = c->out[0]->data};
    double macs = (double)s->M * (double)s->N * (double)s->K;
    ember_op_parallel(c, packed_share, &j, macs > 1e15 ? INT64_MAX : (int64_t)macs, SHARE_MACS);
    return EMBER_OK;
#else
    (void)state;
    return ember_op_fail(c, EMBER_E_INTERNAL, "packed GEMM is not built for this architecture");
#endif
}

/* B (and C, folded into the bias) are read only while packing. */
static int packed_drops_input(void *state, int in_idx)
{
    (void)state;
    return in_idx == 1 || in_idx == 2;
}

const ember_host_kernel ember_host_packed_gemm = {
    .name = "packed_gemm",
    .op = EMBER_OP_GEMM,
    .prepare = packed_prepare,
    .run = packed_run,
    .release = packed_free,
    .drops_input = packed_drops_input,
};
