/* Row-segment register tiles for the depthwise conv (ops/host/dwconv.c): 3x3 filters at
 * stride 1 or 2, three (up to 5 columns) or two output rows by 1-8 output columns, or
 * (stride 1, up to 6 columns, 16 lanes) output rows rolled down the segment; channels
 * along the vector. */
#ifndef EMBER_OPS_HOST_DWCONV_SEG_H
#define EMBER_OPS_HOST_DWCONV_SEG_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* One input vector v, at row i and column j of a tile's input reach, multiplied into
 * every output (r, q) of the R x Q tile that reads it (output rows RS and columns CS
 * input rows / columns apart, a KH x KW filter wv): the load-once core of dwconv.c's
 * reusing tile and of the segment tiles. All but v constant after inlining. */
static inline __attribute__((always_inline, target("avx512f"))) void
dw_reuse_fma(__m512 *acc, __m512 v, int i, int j, int R, int Q, int RS, int CS, int KH, int KW, const __m512 *wv)
{
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int q = 0; q < Q; q++) {
            int ky = i - r * RS, kx = j - q * CS;
            if (ky >= 0 && ky < KH && kx >= 0 && kx < KW)
                acc[r * Q + q] = _mm512_fmadd_ps(v, wv[ky * KW + kx], acc[r * Q + q]);
        }
}
#endif

#define DW_SEG_Q 8      /* output columns a segment tile computes, at most */
#define DW_SEG_ROLL_Q 6 /* at most, where it rolls rows (dw_seg_rolls) */

/* What a segment tile needs besides its addresses. Steps in floats. */
typedef struct dw_seg_args {
    const float *w;    /* the first chunk's 9 taps, [9][16], 64-byte aligned */
    const float *bias; /* [16], aligned */
    int64_t iy, ix;    /* input row, column */
    int64_t ors, ocs;  /* output row, column */
    int64_t H, pt;     /* input rows, top pad */
    float lo, hi;      /* the activation as a clamp (used by the tiles built with one) */
    int64_t nch;       /* chunks of channels, each tile position in turn: w, bias step 9 * 16, 16 */
    int64_t cin, cout; /* input, output step from chunk to chunk */
    uint16_t m, mlast; /* the lanes loaded and stored: all chunks but the last, the last */
} dw_seg_args;

/* Output rows [r0, r1) (r1 - r0 >= 3) of one segment of q columns, in tiles of 3 or 2
 * rows. `in`: the input at the map's row 0 and the first column of the segment's reach
 * (c0 * stride - pad_left, possibly outside); rows outside the map are not read.
 * `out`: output (0, c0). */
typedef void (*dw_seg_fn)(const float *in, float *out, const dw_seg_args *a, int64_t r0, int64_t r1);

/* The tile for `stride` (1 or 2), `act` (0: none, 1: the clamp [lo, hi], 2: its lower
 * bound only, for hi = +inf), q columns (1..DW_SEG_Q), that skips the first (`left`)
 * and / or the last (`right`) input column of its reach (the map's edges); `full`: the
 * chunks it runs all have 16 lanes (m and mlast 0xffff); NULL when there is none (no
 * AVX-512 build). */
dw_seg_fn dw_seg_pick(int stride, int act, int q, int left, int right, int full);

/* Whether that tile runs each chunk of channels through all its rows before the next
 * (rows rolled down the segment), rather than all the chunks at each tile position:
 * then a call for several chunks reads memory in the order of one call per chunk. */
int dw_seg_rolls(int stride, int q, int full);

#endif
