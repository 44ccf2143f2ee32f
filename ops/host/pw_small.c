/* Register tiles for small GEMMs (pw_small.h). */
#include "pw_small.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Why these tiles: on small maps (kws_dscnn's 64 -> 64 at 25x5, vww_mobilenet025's 32 ->
 * 64 .. 256 -> 256 at 12x12 .. 3x3) oneDNN's jit 1x1 convs ran at ~150 GFLOP/s of the
 * core's ~205. Here a panel's weights (C x nr floats, <= 32 KB on these maps) stay in L1
 * while every pixel tile of the map reads them; a tile's pixels are constant offsets from
 * one pointer and the 16 channels of a block are unrolled, so the loop is only loads,
 * broadcasts and multiply-adds (~175 GFLOP/s alone); a map's last pixels take a tile of
 * exactly their count, not 1-pixel tiles (latency bound); maps of <= 12 pixels are one
 * tile a panel, so 256 -> 256 at 3x3 reads its 256 KB of weights once. R pixels x V
 * vectors, then bias, residual (a variant of its own: the branch in one tile cost 8%),
 * the activation (max only for none / Relu: kws_dscnn ~34.05 -> ~33.9 us) and the store. The blocks < 1 hint stops GCC from zeroing a spilled copy of the
 * accumulators with a memset call before the loop (another 8%), and the strides are read
 * into locals first (stores through a->yvs / a->yps cost 6%). Scheduled for Sapphire
 * Rapids, the machine measured (GCC's generic tuning: 3% slower; the ISA is the same). */
#define PW_SMALL(R, V, RES, MIN)                                                                                 \
    __attribute__((target("avx512f,tune=sapphirerapids"))) static void small_##R##_##V##_##RES##MIN(                                 \
        const ember_pw_small *a, const float *x, const float *w, const float *bias, const float *res, float *y) \
    {                                                                                                       \
        __m512 acc[R][V];                                                                                   \
        for (int v = 0; v < V; v++) _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) acc[i][v] = _mm512_setzero_ps(); \
        int64_t xps = a->xps, xbs = a->xbs, yvs = a->yvs, yps = a->yps, rvs = a->rvs, rps = a->rps;                                                                 \
        int blocks = (int)(a->C / 16);                                                                      \
        if (blocks < 1) __builtin_unreachable();                                                            \
        for (int kb = 0; kb < blocks; kb++, x += xbs, w += 16 * 16 * V) {                                   \
            _Pragma("GCC unroll 4") for (int k = 0; k < 16; k++) {                                          \
                __m512 wv[V];                                                                               \
                for (int v = 0; v < V; v++) wv[v] = _mm512_load_ps(w + (k * V + v) * 16);                   \
                _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                      \
                    __m512 b = _mm512_set1_ps(x[i * xps + k]);                                              \
                    for (int v = 0; v < V; v++) acc[i][v] = _mm512_fmadd_ps(b, wv[v], acc[i][v]);           \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
        __m512 lo = _mm512_set1_ps(a->lo), hi = _mm512_set1_ps(a->hi);                                      \
        for (int v = 0; v < V; v++) {                                                                       \
            __m512 b = _mm512_loadu_ps(bias + 16 * v);                                                      \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                          \
                __m512 r = _mm512_add_ps(acc[i][v], b);                                                     \
                if (RES) r = _mm512_add_ps(r, _mm512_loadu_ps(res + v * rvs + i * rps));              \
                r = _mm512_max_ps(r, lo);                                                                   \
                _mm512_storeu_ps(y + v * yvs + i * yps, MIN ? _mm512_min_ps(r, hi) : r);     \
            }                                                                                               \
        }                                                                                                   \
    }
#define PW_SMALLS(R, V) PW_SMALL(R, V, 0, 0) PW_SMALL(R, V, 0, 1) PW_SMALL(R, V, 1, 1)
PW_SMALLS(6, 4)
PW_SMALLS(5, 4)
PW_SMALLS(4, 4)
PW_SMALLS(3, 4)
PW_SMALLS(2, 4)
PW_SMALLS(1, 4)
PW_SMALLS(12, 2)
PW_SMALLS(11, 2)
PW_SMALLS(10, 2)
PW_SMALLS(9, 2)
PW_SMALLS(8, 2)
PW_SMALLS(7, 2)
PW_SMALLS(6, 2)
PW_SMALLS(5, 2)
PW_SMALLS(4, 2)
PW_SMALLS(3, 2)
PW_SMALLS(2, 2)
PW_SMALLS(1, 2)

typedef void (*pw_small_fn)(const ember_pw_small *, const float *, const float *, const float *, const float *,
                            float *);
#define PW_S4(E) {NULL, small_1_4_##E, small_2_4_##E, small_3_4_##E, small_4_4_##E, small_5_4_##E, small_6_4_##E}
#define PW_S2(E)                                                                                            \
    {NULL, small_1_2_##E, small_2_2_##E, small_3_2_##E, small_4_2_##E, small_5_2_##E, small_6_2_##E,       \
     small_7_2_##E, small_8_2_##E, small_9_2_##E, small_10_2_##E, small_11_2_##E, small_12_2_##E}
/* [epilogue: max only (no activation, Relu), max and min (Clip), residual and both][pixels] */
static const pw_small_fn small_v4[3][7] = {PW_S4(00), PW_S4(01), PW_S4(11)};
static const pw_small_fn small_v2[3][13] = {PW_S2(00), PW_S2(01), PW_S2(11)};

void ember_pw_small_panel(const ember_pw_small *a, int64_t nr, int64_t pixels, const float *x, const float *panel,
                          const float *bias, const float *res, float *y)
{
    int e = res ? 2 : a->hi < INFINITY ? 1 : 0;
    const pw_small_fn *fn = nr == 64 ? small_v4[e] : small_v2[e];
    int64_t mr = nr == 64 ? 6 : 12;
    for (int64_t q = 0; q < pixels;) {
        int64_t r = pixels - q < mr ? pixels - q : mr;
        fn[r](a, x + q * a->xps, panel, bias, res ? res + q * a->rps : NULL, y + q * a->yps);
        q += r;
    }
}
#else
void ember_pw_small_panel(const ember_pw_small *a, int64_t nr, int64_t pixels, const float *x, const float *panel,
                          const float *bias, const float *res, float *y)
{
    (void)a, (void)nr, (void)pixels, (void)x, (void)panel, (void)bias, (void)res, (void)y; /* callers check */
}
#endif
