/* Row-segment tiles of the depthwise conv (see dwconv_seg.h and ops/host/dwconv.c, which
 * says when they run). Why this shape: on small maps most outputs touch an edge (25x5:
 * 2 of 5 columns and 2 of 25 rows; 6x6: 4 of 6 rows and columns), and tiles that
 * check edges at run time, or run edge rows one output at a time (one chain of dependent
 * multiply-adds), left the layers at 30-80 GFLOP/s. Here a tile is R rows x Q columns,
 * 12-16 independent accumulators against the 4-cycle latency of two FMA ports (R = 3
 * up to 5 columns, else 2: 3 x 6 spilled, 0.72 -> 0.77 us on vww's 128ch 6x6; 3 rows
 * over 2 on 256ch 3x3 0.54 -> 0.37, 128ch 6x6 -> 3x3 0.39 -> 0.27, kws_dscnn's 64ch
 * 25x5 1.47 -> 1.39 us, microbenchmark minimums), every input vector is loaded once and
 * multiplied into each output that reads it, and whether the reach's first or last
 * column lies outside the map is a constant of the tile, so those taps are not issued
 * at all; an input row outside the map (top, bottom) is loaded with no lanes (zeros)
 * at no branch. Whole output rows are one tile up to 8 columns. At stride 1 with 16-lane
 * chunks, segments of up to 6 columns roll their rows instead (dw_roll): kws_dscnn's
 * 64ch 25x5 Relu layer 1.26 -> 0.81 us (tiles alone, microbenchmark minimums), ~1.4 ->
 * 0.9 us in the model. */
#include "dwconv_seg.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))
/* Hides a pointer's value from the optimizer: stepping it by a run-time stride then
 * costs an add a tile, where GCC otherwise hoists every (row, column) offset of the
 * tile out of the loop and spills them (~200 stack accesses a stride-2 tile). */
#define DW_OPAQUE(p) __asm__("" : "+r"(p))
#define DW_SEG_R3_Q 5 /* tiles of up to this many columns have 3 rows (3 x 5 <= 16 = 2 x DW_SEG_Q) */
#define DW_ROLL_Q DW_SEG_ROLL_Q /* 3 x 6 accumulators, 9 filters, bias, clamp: 31 registers */

/* A column of tiles: output rows [r0, r1) (at least R) in tiles of R rows x Q columns
 * at stride S (3x3 filter), skipping input column 0 when LF and the last when RF; the
 * clamp when ACT; at each tile position the a->nch chunks of channels in turn. Rows
 * left over are computed again (the last tile is rows r1 - R .. r1 - 1: the same values
 * written again). All but the rows and chunks constant after inlining. */
INLINE AVX512 void dw_seg(const float *in, float *out, const dw_seg_args *a, int64_t r0, int64_t r1, int Q, int LF,
                          int RF, int S, int ACT)
{
    enum { K = 3 };
    const int R = Q <= DW_SEG_R3_Q ? 3 : 2;
    const int NI = (R - 1) * S + K, NJ = (Q - 1) * S + K;
    int64_t iy = a->iy, ix = a->ix, ors = a->ors, ocs = a->ocs, H = a->H, pt = a->pt, nch = a->nch;
    int64_t cin = a->cin, cout = a->cout;
    __m512 lo = _mm512_set1_ps(a->lo), hi = _mm512_set1_ps(a->hi);
    for (int64_t oy = r0; oy < r1; oy += R) {
        int64_t r = oy + R <= r1 ? oy : r1 - R, iy0 = r * S - pt;
        const float *p0 = in + iy0 * iy, *wk = a->w, *bk = a->bias;
        float *o0 = out + r * ors;
        for (int64_t k = 0; k < nch; k++, p0 += cin, o0 += cout, wk += K * K * 16, bk += 16) {
            __mmask16 m = k + 1 < nch ? a->m : a->mlast;
            __m512 w[K * K], acc[2 * DW_SEG_Q], b = _mm512_load_ps(bk);
            for (int t = 0; t < K * K; t++) w[t] = _mm512_load_ps(wk + 16 * t);
            for (int i = 0; i < R * Q; i++) acc[i] = b;
#pragma GCC unroll 8
            for (int i = 0; i < NI; i++) {
                /* A row outside the map: zeros, loaded with no lanes from row 0 or H - 1.
                 * (Loads with no lanes from an unmapped page are still slow microcode
                 * assists: the arena's first tensor put row -1 there, and vww_mobilenet025's
                 * layers ran ~0.5 us slower.) */
                int64_t y = iy0 + i;
                __mmask16 mi = (uint64_t)y < (uint64_t)H ? m : 0;
                y = y < 0 ? 0 : y >= H ? H - 1 : y;
                const float *pc = p0 + (y - iy0) * iy + LF * ix;
#pragma GCC unroll 24
                for (int j = LF; j < NJ - RF; j++, pc += ix) {
                    DW_OPAQUE(pc);
                    dw_reuse_fma(acc, _mm512_maskz_loadu_ps(mi, pc), i, j, R, Q, S, S, K, K, w);
                }
            }
            float *o = o0;
            DW_OPAQUE(o);
            for (int rr = 0; rr < R; rr++, o += ors) {
                float *po = o;
                for (int q = 0; q < Q; q++, po += ocs) {
                    DW_OPAQUE(po);
                    __m512 v = acc[rr * Q + q];
                    if (ACT) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                    _mm512_mask_storeu_ps(po, m, v);
                }
            }
        }
    }
}

/* Rolling rows, stride 1: output row r reads input rows r - pt + ky (ky = 0..2), so
 * input row y adds to output rows y + pt - ky in three sets of Q accumulators, set
 * (r - r0) % 3 holding row r; a row is stored after its last input row and its set
 * starts the row three below. Each input vector is loaded once for the whole column
 * and no row is computed twice (the 3-row tiles: 9 tiles for 25 rows, 2 rows again).
 * Input rows outside the map are skipped by a branch (taken the same way each time at
 * the same place). Set s_k (-1: none) takes the row's taps ky = k. */
INLINE AVX512 void dw_roll_row(const float *p, int64_t ix, const __m512 *w, __m512 b, __m512 *acc, int Q, int LF,
                               int RF, int s0, int s1, int s2)
{
    const int set[3] = {s0, s1, s2};
#pragma GCC unroll 16
    for (int j = LF; j < Q + 2 - RF; j++) {
        __m512 v = _mm512_loadu_ps(p + j * ix);
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            if (set[ky] < 0) continue;
#pragma GCC unroll 8
            for (int q = 0; q < Q; q++) {
                int kx = j - q, i = set[ky] * Q + q;
                if (kx >= 0 && kx < 3 && !(ky == 0 && j == (q > LF ? q : LF)))
                    acc[i] = _mm512_fmadd_ps(v, w[ky * 3 + kx], acc[i]);
            }
        }
        /* The rows set s0 starts, last: their first tap adds the bias, and v, used
         * last, can take the result (a copy of b or v otherwise, ~1 cycle in 5). */
#pragma GCC unroll 8
        for (int q = 0; q < Q; q++)
            if (s0 >= 0 && j == (q > LF ? q : LF)) acc[s0 * Q + q] = _mm512_fmadd_ps(v, w[j - q], b);
    }
}

/* Output rows [r0, r1) (r1 - r0 >= 2) of a segment of Q <= DW_ROLL_Q columns at
 * stride 1, by rolling rows, every chunk with all 16 lanes: whole loads and stores
 * (masked stores cost ~5% here: steady state 8.8 -> 8.4 us for 64 channels at 250 x 5;
 * chunks with fewer lanes run the 3-row tiles). ACT: 0 none, 1 the clamp, 2 its lower
 * bound only (Relu: the min with +inf is one more op a vector on the FMA ports). */
INLINE AVX512 void dw_roll(const float *in, float *out, const dw_seg_args *a, int64_t r0, int64_t r1, int Q, int LF,
                           int RF, int ACT)
{
    int64_t iy = a->iy, ix = a->ix, ors = a->ors, ocs = a->ocs, H = a->H, pt = a->pt, nch = a->nch;
    int64_t cin = a->cin, cout = a->cout;
    __m512 lo = _mm512_set1_ps(a->lo), hi = _mm512_set1_ps(a->hi);
    const float *pk = in + (r0 - pt) * iy, *wk = a->w, *bk = a->bias;
    float *ok = out + r0 * ors;
    for (int64_t k = 0; k < nch; k++, pk += cin, ok += cout, wk += 9 * 16, bk += 16) {
        __m512 w[9], acc[3 * DW_ROLL_Q], b = _mm512_load_ps(bk);
        for (int t = 0; t < 9; t++) w[t] = _mm512_load_ps(wk + 16 * t);
        const float *p = pk;
        float *o = ok;
        int64_t y = r0 - pt, n = r1 - r0 - 2;
#define DW_STEP(s0, s1, s2)                                                                          \
    do {                                                                                             \
        if (__builtin_expect((uint64_t)y < (uint64_t)H, 1))                                          \
            dw_roll_row(p, ix, w, b, acc, Q, LF, RF, s0, s1, s2);                                    \
        else if (s0 >= 0)                                                                            \
            for (int q = 0; q < Q; q++) acc[(s0) * Q + q] = b;                                       \
        if (s2 >= 0) {                                                                               \
            for (int q = 0; q < Q; q++) {                                                            \
                __m512 v = acc[(s2) * Q + q];                                                        \
                if (ACT) v = _mm512_max_ps(v, lo);                                                   \
                if (ACT == 1) v = _mm512_min_ps(v, hi);                                              \
                _mm512_storeu_ps(o + q * ocs, v);                                                    \
            }                                                                                        \
            o += ors;                                                                                \
        }                                                                                            \
        y++, p += iy;                                                                                \
    } while (0)
        /* Set 0: row r0, then r0 + 3, ...; the steps name the sets of taps ky = 0, 1, 2. */
        DW_STEP(0, -1, -1);
        DW_STEP(1, 0, -1);
        for (; n >= 3; n -= 3) {
            DW_STEP(2, 1, 0);
            DW_STEP(0, 2, 1);
            DW_STEP(1, 0, 2);
        }
        /* Rows left: one step, then the sets renamed back (register moves), which keeps
         * one copy of the step here instead of one per count left (code size). */
        for (; n > 0; n--) {
            DW_STEP(2, 1, 0);
            for (int q = 0; q < Q; q++) acc[q] = acc[Q + q], acc[Q + q] = acc[2 * Q + q];
        }
        DW_STEP(-1, 1, 0);
        DW_STEP(-1, -1, 1);
#undef DW_STEP
    }
}

/* One function per (clamp, columns, left edge, right edge) at stride 1 up to
 * DW_ROLL_Q columns. */
#define DW_ROLL_FN(A, Q, L, R)                                                                        \
    static AVX512 void dw_roll_##A##Q##L##R(const float *in, float *out, const dw_seg_args *a,       \
                                           int64_t r0, int64_t r1)                                   \
    {                                                                                                 \
        dw_roll(in, out, a, r0, r1, Q, L, R, A);                                                      \
    }
#define DW_ROLL_Q4(A, Q) DW_ROLL_FN(A, Q, 0, 0) DW_ROLL_FN(A, Q, 0, 1) DW_ROLL_FN(A, Q, 1, 0) DW_ROLL_FN(A, Q, 1, 1)
#define DW_ROLL_ALL(A) DW_ROLL_Q4(A, 1) DW_ROLL_Q4(A, 2) DW_ROLL_Q4(A, 3) DW_ROLL_Q4(A, 4) DW_ROLL_Q4(A, 5) DW_ROLL_Q4(A, 6)
DW_ROLL_ALL(0)
DW_ROLL_ALL(1)
DW_ROLL_ALL(2)
#define DW_ROLL_REF4(A, Q) dw_roll_##A##Q##00, dw_roll_##A##Q##01, dw_roll_##A##Q##10, dw_roll_##A##Q##11
#define DW_ROLL_REFS(A)                                                                               \
    {DW_ROLL_REF4(A, 1), DW_ROLL_REF4(A, 2), DW_ROLL_REF4(A, 3), DW_ROLL_REF4(A, 4), DW_ROLL_REF4(A, 5),              \
     DW_ROLL_REF4(A, 6)}
static const dw_seg_fn dw_rolls[3][DW_ROLL_Q * 4] = {DW_ROLL_REFS(0), DW_ROLL_REFS(1), DW_ROLL_REFS(2)};

/* One function per (stride, clamp, columns, left edge, right edge): 128, 0.6-3 KB each. */
#define DW_SEG_FN(S, A, Q, L, R)                                                                      \
    static AVX512 void dw_seg_##S##A##Q##L##R(const float *in, float *out, const dw_seg_args *a,    \
                                              int64_t r0, int64_t r1)                                \
    {                                                                                                 \
        dw_seg(in, out, a, r0, r1, Q, L, R, S, A);                                                    \
    }
#define DW_SEG_Q4(S, A, Q) DW_SEG_FN(S, A, Q, 0, 0) DW_SEG_FN(S, A, Q, 0, 1) DW_SEG_FN(S, A, Q, 1, 0) DW_SEG_FN(S, A, Q, 1, 1)
#define DW_SEG_ALL(S, A)                                                                              \
    DW_SEG_Q4(S, A, 1) DW_SEG_Q4(S, A, 2) DW_SEG_Q4(S, A, 3) DW_SEG_Q4(S, A, 4) DW_SEG_Q4(S, A, 5)     \
    DW_SEG_Q4(S, A, 6) DW_SEG_Q4(S, A, 7) DW_SEG_Q4(S, A, 8)
DW_SEG_ALL(1, 0)
DW_SEG_ALL(1, 1)
DW_SEG_ALL(2, 0)
DW_SEG_ALL(2, 1)

#define DW_SEG_REF4(S, A, Q) dw_seg_##S##A##Q##00, dw_seg_##S##A##Q##01, dw_seg_##S##A##Q##10, dw_seg_##S##A##Q##11
#define DW_SEG_REFS(S, A)                                                                             \
    {DW_SEG_REF4(S, A, 1), DW_SEG_REF4(S, A, 2), DW_SEG_REF4(S, A, 3), DW_SEG_REF4(S, A, 4),          \
     DW_SEG_REF4(S, A, 5), DW_SEG_REF4(S, A, 6), DW_SEG_REF4(S, A, 7), DW_SEG_REF4(S, A, 8)}

static const dw_seg_fn dw_segs[2][2][DW_SEG_Q * 4] = {{DW_SEG_REFS(1, 0), DW_SEG_REFS(1, 1)},
                                                      {DW_SEG_REFS(2, 0), DW_SEG_REFS(2, 1)}};

int dw_seg_rolls(int stride, int q, int full) { return full && stride == 1 && q >= 1 && q <= DW_ROLL_Q; }

dw_seg_fn dw_seg_pick(int stride, int act, int q, int left, int right, int full)
{
    if (stride < 1 || stride > 2 || q < 1 || q > DW_SEG_Q || act < 0 || act > 2) return NULL;
    if (dw_seg_rolls(stride, q, full)) return dw_rolls[act][(q - 1) * 4 + (left != 0) * 2 + (right != 0)];
    return dw_segs[stride - 1][act != 0][(q - 1) * 4 + (left != 0) * 2 + (right != 0)];
}

#else

dw_seg_fn dw_seg_pick(int stride, int act, int q, int left, int right, int full)
{
    (void)stride, (void)act, (void)q, (void)left, (void)right, (void)full;
    return NULL;
}

int dw_seg_rolls(int stride, int q, int full)
{
    (void)stride, (void)q, (void)full;
    return 0;
}

#endif
