/* The Winograd conv's block kernel (winograd.h): input transform, the 36 GEMMs and the
 * output transform with bias, residual and activation, in AVX-512 (target attributes;
 * winograd_conv.c runs it only where the CPU has AVX-512F). */
#include "winograd.h"

#include "../kernels/activation.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))
#define UNROLL _Pragma("GCC unroll 36")

/* 16 channels from p, `sc` floats apart. */
TGT static inline __m512 ld16(const float *p, int64_t sc, __m512i idx)
{
    return sc == 1 ? _mm512_loadu_ps(p) : _mm512_i32gather_ps(idx, p, 4);
}

TGT static inline void st16(float *p, int64_t sc, __m512i idx, __m512 v)
{
    if (sc == 1) _mm512_storeu_ps(p, v);
    else _mm512_i32scatter_ps(p, idx, v, 4);
}

/* The 1-D input transform B^T d of 6 values (a, b, c, f: shared partial sums). */
#define IN_1D(d0, d1, d2, d3, d4, d5, t0, t1, t2, t3, t4, t5)                            \
    do {                                                                                \
        __m512 a_ = _mm512_fnmadd_ps(four, d2, d4), b_ = _mm512_fnmadd_ps(four, d1, d3); \
        __m512 c_ = _mm512_sub_ps(d4, d2), f_ = _mm512_sub_ps(d3, d1);                   \
        t0 = _mm512_fmadd_ps(four, d0, _mm512_fnmadd_ps(five, d2, d4));                  \
        t1 = _mm512_add_ps(a_, b_);                                                     \
        t2 = _mm512_sub_ps(a_, b_);                                                     \
        t3 = _mm512_fmadd_ps(two, f_, c_);                                              \
        t4 = _mm512_fnmadd_ps(two, f_, c_);                                             \
        t5 = _mm512_fmadd_ps(four, d1, _mm512_fnmadd_ps(five, d3, d5));                  \
    } while (0)

/* B^T d B of one 6x6 patch of 16 channels at p (row and column strides sy, sx, in
 * floats), into v[16 xi]. Rows i and columns j outside the masks read as zeros (the
 * pads): masked-off lanes are not loaded. */
TGT static inline void in_tile(const float *p, int64_t sy, int64_t sx, const __mmask16 *rm, const __mmask16 *cm,
                               float *v)
{
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    __m512 e[WX];
    UNROLL for (int j = 0; j < WT; j++) { /* columns: B^T d */
        const float *q = p + j * sx;
        __m512 d0 = _mm512_maskz_loadu_ps(rm[0] & cm[j], q);
        __m512 d1 = _mm512_maskz_loadu_ps(rm[1] & cm[j], q + sy);
        __m512 d2 = _mm512_maskz_loadu_ps(rm[2] & cm[j], q + 2 * sy);
        __m512 d3 = _mm512_maskz_loadu_ps(rm[3] & cm[j], q + 3 * sy);
        __m512 d4 = _mm512_maskz_loadu_ps(rm[4] & cm[j], q + 4 * sy);
        __m512 d5 = _mm512_maskz_loadu_ps(rm[5] & cm[j], q + 5 * sy);
        IN_1D(d0, d1, d2, d3, d4, d5, e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j]);
    }
    UNROLL for (int i = 0; i < WT; i++) { /* rows: (B^T d) B */
        __m512 o0, o1, o2, o3, o4, o5, *q = e + i * WT;
        IN_1D(q[0], q[1], q[2], q[3], q[4], q[5], o0, o1, o2, o3, o4, o5);
        float *w = v + i * WT * 16;
        _mm512_storeu_ps(w, o0);
        _mm512_storeu_ps(w + 16, o1);
        _mm512_storeu_ps(w + 32, o2);
        _mm512_storeu_ps(w + 48, o3);
        _mm512_storeu_ps(w + 64, o4);
        _mm512_storeu_ps(w + 80, o5);
    }
}

/* The tile after (n, ty, tx) in the grid. */
static inline void tile_next(const wino_conv *s, int64_t *n, int64_t *ty, int64_t *tx)
{
    if (++*tx < s->tw) return;
    *tx = 0;
    if (++*ty < s->th) return;
    *ty = 0;
    ++*n;
}

/* V[t][cb][xi][16] for tiles t0 .. t0+nt-1. With channels contiguous
 * (NHWC, nChw16c) patches are read in place, edges masked; NCHW patches are gathered
 * into a zero-padded copy first. */
TGT static void input_transform(const wino_conv *s, const float *x, int64_t t0, int nt, float *v)
{
    const wino_io *io = &s->src;
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)io->sc));
    const int64_t cbs = s->C / 16;
    float patch[WX * 16] __attribute__((aligned(64)));
    static const __mmask16 ones[WT] = {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff};
    int64_t n = t0 / (s->th * s->tw), ty = t0 / s->tw % s->th, tx = t0 % s->tw;
    for (int t = 0; t < nt; t++, tile_next(s, &n, &ty, &tx)) {
        int64_t y0 = ty * WO - s->pt, x0 = tx * WO - s->pl;
        const float *xt = x + n * io->sn + y0 * io->sy + x0 * io->sx; /* may point outside: read masked */
        float *vt = v + (int64_t)t * WX * s->C; /* V[t][cb][xi][16] */
        __mmask16 rm[WT], cm[WT];
        for (int i = 0; i < WT; i++) {
            rm[i] = y0 + i >= 0 && y0 + i < s->H ? 0xffff : 0;
            cm[i] = x0 + i >= 0 && x0 + i < s->W ? 0xffff : 0;
        }
        if (io->sc == 1 && y0 >= 0 && x0 >= 0 && y0 + WT <= s->H && x0 + WT <= s->W) { /* inside: plain loads */
            const __mmask16 all[WT] = {0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff};
            for (int64_t cb = 0; cb < cbs; cb++)
                in_tile(xt + cb * io->scb, io->sy, io->sx, all, all, vt + cb * WX * 16);
            continue;
        }
        if (io->sc == 1) {
            for (int64_t cb = 0; cb < cbs; cb++)
                in_tile(xt + cb * io->scb, io->sy, io->sx, rm, cm, vt + cb * WX * 16);
            continue;
        }
        for (int64_t cb = 0; cb < cbs; cb++) {
            for (int i = 0; i < WT; i++)
                for (int j = 0; j < WT; j++) {
                    const float *q = xt + cb * io->scb + i * io->sy + j * io->sx;
                    __m512 d = rm[i] & cm[j] ? ld16(q, io->sc, idx) : _mm512_setzero_ps();
                    _mm512_store_ps(patch + (i * WT + j) * 16, d);
                }
            in_tile(patch, WT * 16, 16, ones, ones, vt + cb * WX * 16);
        }
    }
}

/* The 1-D output transform A^T m of 6 values into 4. */
#define OUT_1D(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                  \
    do {                                                                               \
        __m512 p_ = _mm512_add_ps(m1, m2), q_ = _mm512_sub_ps(m1, m2);                 \
        __m512 r_ = _mm512_add_ps(m3, m4), s_ = _mm512_sub_ps(m3, m4);                 \
        o0 = _mm512_add_ps(_mm512_add_ps(m0, p_), r_);                                 \
        o1 = _mm512_fmadd_ps(two, s_, q_);                                             \
        o2 = _mm512_fmadd_ps(four, r_, p_);                                            \
        o3 = _mm512_add_ps(_mm512_fmadd_ps(eight, s_, q_), m5);                        \
    } while (0)

/* A^T m A + bias of one tile's 16 channels from mt[16 xi] into o[4][4]. */
TGT static inline void out_tile(const float *mt, __m512 b, __m512 o[WO][WO])
{
    const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), eight = _mm512_set1_ps(8.0f);
    __m512 e[WO][WT];
    UNROLL for (int j = 0; j < WT; j++) { /* columns: A^T m */
        __m512 m0 = _mm512_loadu_ps(mt + (0 * WT + j) * 16), m1 = _mm512_loadu_ps(mt + (1 * WT + j) * 16);
        __m512 m2 = _mm512_loadu_ps(mt + (2 * WT + j) * 16), m3 = _mm512_loadu_ps(mt + (3 * WT + j) * 16);
        __m512 m4 = _mm512_loadu_ps(mt + (4 * WT + j) * 16), m5 = _mm512_loadu_ps(mt + (5 * WT + j) * 16);
        OUT_1D(m0, m1, m2, m3, m4, m5, e[0][j], e[1][j], e[2][j], e[3][j]);
    }
    UNROLL for (int i = 0; i < WO; i++) { /* rows: (A^T m) A */
        __m512 *q = e[i];
        OUT_1D(q[0], q[1], q[2], q[3], q[4], q[5], o[i][0], o[i][1], o[i][2], o[i][3]);
        UNROLL for (int j = 0; j < WO; j++) o[i][j] = _mm512_add_ps(o[i][j], b);
    }
}

TGT static inline __m512 activate(int act, float lo, float hi, __m512 x)
{
    switch (act) {
    case K_ACT_RELU: return _mm512_max_ps(x, _mm512_setzero_ps());
    case K_ACT_CLIP: return _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
    case K_ACT_LEAKYRELU: {
        __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(x, neg, x, _mm512_set1_ps(lo));
    }
    default: return x;
    }
}

/* Tiles with channels contiguous in dst and residual: rows x cols outputs get the
 * residual and the activation and are stored in place. act is a compile-time constant
 * where this is inlined. */
TGT static inline void out_store(__m512 o[WO][WO], int rows, int cols, const float *res, int64_t rsy, int64_t rsx,
                                 float *y, int64_t sy, int64_t sx, int act, float lo, float hi)
{
    UNROLL for (int i = 0; i < WO; i++)
        UNROLL for (int j = 0; j < WO; j++) {
            if (i >= rows || j >= cols) continue;
            __m512 z = o[i][j];
            if (res) z = _mm512_add_ps(z, _mm512_loadu_ps(res + i * rsy + j * rsx));
            _mm512_storeu_ps(y + i * sy + j * sx, activate(act, lo, hi, z));
        }
}

/* y for tiles t0 .. t0+nt-1 from Mo[t][mb][xi][16], output channel blocks [mb0, mb1).
 * The residual element is read just before the same element of y is written (they may
 * share memory). */
TGT static void output_transform(const wino_conv *s, const float *mo, int64_t t0, int nt, int64_t mb0,
                                 int64_t mb1, const float *bias, const float *res, float *y)
{
    const wino_io *io = &s->dst, *ro = &s->res;
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)io->sc));
    __m512i ridx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                      _mm512_set1_epi32((int)ro->sc));
    const int act = s->act;
    const float lo = s->act_a, hi = s->act_b;
    const int direct = io->sc == 1 && (!res || ro->sc == 1);
    int64_t n = t0 / (s->th * s->tw), ty = t0 / s->tw % s->th, tx = t0 % s->tw;
    for (int t = 0; t < nt; t++, tile_next(s, &n, &ty, &tx)) {
        int64_t y0 = ty * WO, x0 = tx * WO;
        int rows = s->OH - y0 < WO ? (int)(s->OH - y0) : WO, cols = s->OW - x0 < WO ? (int)(s->OW - x0) : WO;
        float *yt = y + n * io->sn + y0 * io->sy + x0 * io->sx;
        const float *rt = res ? res + n * ro->sn + y0 * ro->sy + x0 * ro->sx : NULL;
        for (int64_t mb = mb0; mb < mb1; mb++) {
            __m512 o[WO][WO];
            /* Mo[t][mb][xi][16] */
            out_tile(mo + ((int64_t)t * s->M + mb * 16) * WX, _mm512_loadu_ps(bias + mb * 16), o);
            float *ym = yt + mb * io->scb;
            const float *rm = rt ? rt + mb * ro->scb : NULL;
            if (direct) {
                if (act == K_ACT_RELU && rm)
                    out_store(o, rows, cols, rm, ro->sy, ro->sx, ym, io->sy, io->sx, K_ACT_RELU, lo, hi);
                else if (act == K_ACT_RELU)
                    out_store(o, rows, cols, NULL, 0, 0, ym, io->sy, io->sx, K_ACT_RELU, lo, hi);
                else out_store(o, rows, cols, rm, ro->sy, ro->sx, ym, io->sy, io->sx, act, lo, hi);
                continue;
            }
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    __m512 z = o[i][j];
                    if (rm) z = _mm512_add_ps(z, ld16(rm + i * ro->sy + j * ro->sx, ro->sc, ridx));
                    st16(ym + i * io->sy + j * io->sx, io->sc, idx, activate(act, lo, hi, z));
                }
        }
    }
}

/* Register tiles of the 36 GEMMs: y[R rows][16 NV] = a[R][K] . b[K][16 NV], b with row
 * stride ldb; a and y rows lda and ldy apart with their 16-float pieces WX * 16 apart
 * (V[t][cb][xi][16], Mo[t][mb][xi][16]: each tile's transform reads or writes 36
 * consecutive vectors). Built for K = lda = L in {16, 32, 64} as constants (L 0: any):
 * the R row addresses are then immediate offsets from one register, where with lda in a
 * register they took a register each and the 24-row tile spent as many moves as FMAs
 * reloading them (cifar's 16-channel convs: GEMMs -25%). */
#define WINO_TILE(R, NV, L)                                                                                \
    TGT static void gemm_##R##_##NV##_##L(int64_t K, const float *a, int64_t lda, const float *b,           \
                                          int64_t ldb, float *y, int64_t ldy)                            \
    {                                                                                                      \
        if (L) K = L, lda = WX * L;                                                                        \
        __m512 c[R][NV];                                                                                   \
        UNROLL for (int i = 0; i < R; i++)                                                                 \
            UNROLL for (int v = 0; v < NV; v++) c[i][v] = _mm512_setzero_ps();                             \
        for (int64_t kb = 0; kb < K / 16; kb++, a += WX * 16, b += 16 * ldb)                              \
            for (int k = 0; k < 16; k++) {                                                                 \
                __m512 bv[NV];                                                                             \
                UNROLL for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(b + k * ldb + 16 * v);         \
                UNROLL for (int i = 0; i < R; i++) {                                                       \
                    __m512 x = _mm512_set1_ps(a[i * lda + k]);                                             \
                    UNROLL for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(x, bv[v], c[i][v]);      \
                }                                                                                          \
            }                                                                                              \
        UNROLL for (int i = 0; i < R; i++)                                                                 \
            UNROLL for (int v = 0; v < NV; v++) _mm512_storeu_ps(y + i * ldy + WX * 16 * v, c[i][v]);      \
    }

typedef void (*tile_fn)(int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t);

/* Row counts of each vector width's tiles, largest first. */
static const int tile_rows[5][6] = {
    {0}, {24, 16, 8, 4, 2, 1}, {12, 8, 4, 2, 1, 0}, {8, 4, 2, 1, 0, 0}, {6, 4, 2, 1, 0, 0}};

/* Every tile for one L, and their table in tile_rows' order. */
#define WINO_TILES(L)                                                                                      \
    WINO_TILE(6, 4, L) WINO_TILE(4, 4, L) WINO_TILE(2, 4, L) WINO_TILE(1, 4, L)                           \
    WINO_TILE(8, 3, L) WINO_TILE(4, 3, L) WINO_TILE(2, 3, L) WINO_TILE(1, 3, L)                           \
    WINO_TILE(12, 2, L) WINO_TILE(8, 2, L) WINO_TILE(4, 2, L) WINO_TILE(2, 2, L) WINO_TILE(1, 2, L)       \
    WINO_TILE(24, 1, L) WINO_TILE(16, 1, L) WINO_TILE(8, 1, L) WINO_TILE(4, 1, L) WINO_TILE(2, 1, L)      \
    WINO_TILE(1, 1, L)                                                                                     \
    static const tile_fn tiles_##L[5][6] = {                                                               \
        {0},                                                                                               \
        {gemm_24_1_##L, gemm_16_1_##L, gemm_8_1_##L, gemm_4_1_##L, gemm_2_1_##L, gemm_1_1_##L},            \
        {gemm_12_2_##L, gemm_8_2_##L, gemm_4_2_##L, gemm_2_2_##L, gemm_1_2_##L, 0},                        \
        {gemm_8_3_##L, gemm_4_3_##L, gemm_2_3_##L, gemm_1_3_##L, 0, 0},                                    \
        {gemm_6_4_##L, gemm_4_4_##L, gemm_2_4_##L, gemm_1_4_##L, 0, 0},                                    \
    };
WINO_TILES(0)
WINO_TILES(16)
WINO_TILES(32)
WINO_TILES(64)

/* Mo[xi][t][m] = V[xi][t][c] . U[xi][c][m] for nt rows and columns [m0, m1), in panels
 * of up to 64 (v, mo: position xi's first element). */
static void gemm_rows(const wino_conv *s, const float *v, const float *u, float *mo, int nt, int64_t m0, int64_t m1)
{
    const tile_fn(*fns)[6] = s->C == 16 ? tiles_16 : s->C == 32 ? tiles_32 : s->C == 64 ? tiles_64 : tiles_0;
    const int64_t lda = WX * s->C, ldy = WX * s->M;
    for (; m0 < m1; m0 += 64) {
        int nv = (int)((m1 - m0 >= 64 ? 64 : m1 - m0) / 16);
        for (int r = 0; r < nt;) {
            int k = 0;
            while (tile_rows[nv][k] > nt - r) k++;
            int rows = tile_rows[nv][k];
            fns[nv][k](s->C, v + r * lda, lda, u + m0, s->M, mo + r * ldy + m0 * WX, ldy);
            r += rows;
        }
    }
}

void ember_winograd_block(const wino_conv *s, const float *x, int64_t t0, int nt, int T, int64_t c0, int64_t c1,
                          float *v, float *mo, const float *bias, const float *res, float *y)
{
    (void)T; /* V and Mo hold the nt tiles at the front */
    input_transform(s, x, t0, nt, v);
    for (int xi = 0; xi < WX; xi++)
        gemm_rows(s, v + xi * 16, s->u + (size_t)xi * s->C * s->M, mo + xi * 16, nt,
                  16 * c0, 16 * c1);
    output_transform(s, mo, t0, nt, c0, c1, bias, res, y);
}
#else
void ember_winograd_block(const wino_conv *s, const float *x, int64_t t0, int nt, int T, int64_t c0, int64_t c1,
                          float *v, float *mo, const float *bias, const float *res, float *y)
{
    (void)s, (void)x, (void)t0, (void)nt, (void)T, (void)c0, (void)c1, (void)v, (void)mo, (void)bias, (void)res,
        (void)y;
}
#endif
