/* The Winograd F(4x4, 3x3) conv's state and its AVX-512 block kernel, shared by
 * ops/host/winograd_conv.c (the host kernel: prepare, threads, layouts) and
 * ops/host/winograd_avx512.c (transforms and GEMMs). See winograd_conv.c. */
#ifndef EMBER_HOST_WINOGRAD_H
#define EMBER_HOST_WINOGRAD_H
#include <stdint.h>
#include <stddef.h>

#define WT 6         /* input tile side */
#define WO 4         /* output tile side */
#define WX (WT * WT) /* transformed positions */

enum { L_PLAIN, L_NHWC, L_BLOCKED }; /* a tensor's layout: NCHW, NHWC, nChw16c */

typedef struct wino_io {
    int layout;
    int64_t sn, scb, sc, sy, sx; /* strides of image, 16-channel block, channel, row, column */
} wino_io;

typedef struct wino_conv {
    int64_t N, C, M, H, W, OH, OW, pt, pl; /* pt, pl: top and left pads */
    int64_t th, tw, tiles;                 /* tile grid */
    float *u;                              /* [WX][C][M] */
    float *bias;                           /* [M], zeros when absent */
    int bias_input;                        /* bias read from input 2 at run time */
    int sum;                               /* input 3 is a residual added before the activation */
    int act;
    float act_a, act_b;
    int threads, max_shares;
    size_t share_floats;
    int blocks_wanted;                     /* the node is marked ember_channel_blocks */
    wino_io src, dst, res;
} wino_conv;

/* One block of nt <= T tiles from tile t0 on, output channels [16 c0, 16 c1): V and Mo
 * are the block's scratch (WX T C and WX T M floats), x, res and y the tensors in the
 * layouts s->src, s->res, s->dst (res NULL: no residual), bias M floats. AVX-512F only
 * (the caller checks the CPU). */
void ember_winograd_block(const wino_conv *s, const float *x, int64_t t0, int nt, int T, int64_t c0, int64_t c1,
                          float *v, float *mo, const float *bias, const float *res, float *y);
#endif
