/* Host fast paths: optional replacements for an op's reference run() on the CPU backend
 * (oneDNN convolutions and pools, OpenBLAS GEMM, ...). The reference kernels stay the
 * oracle; a fast path is chosen per node when the program is built, and may decline.
 * The list lives in ops/host/host.def: one line per fast path, nothing else names them. */
#ifndef EMBER_HOST_H
#define EMBER_HOST_H
#include <stdlib.h>

#include "op.h"

typedef struct ember_host_kernel {
    const char *name; /* for profiles: "onednn_conv", "openblas_gemm", ... */
    int op;           /* enum ember_op it accelerates */
    /* Called once per node when the program is built, with every input's dtype and shape
     * known and constant inputs' data set (other inputs' data is NULL). Returns EMBER_OK
     * and *state when it takes the node; EMBER_E_UNSUPPORTED to decline (the reference
     * kernel runs); any other status is an error. `threads` is the session's thread
     * count. May request scratch through c->scratch_bytes. */
    ember_status (*prepare)(ember_op_ctx *c, int threads, void **state);
    /* Computes the node's outputs; no allocation. */
    ember_status (*run)(ember_op_ctx *c, void *state);
    void (*release)(void *state); /* NULL-safe on state */

    /* Optional layout chaining (all three or none). The arena holds every tensor in its
     * plain dense layout (layout 0). Host kernels that compute in another layout may hand
     * a value straight to other host kernels in that layout, skipping a conversion on
     * each side. Layout codes other than 0 are oneDNN format tags (dnnl_format_tag_t),
     * the one vocabulary the host kernels share. A chained layout always has the plain
     * layout's byte size (the program's memory plan is not changed). The program builder
     * (engine/program.c) chains a value only when its producer's step and every step
     * reading it are host steps that agree, and the value is not a graph output; it calls
     * set_layout before the first run, after every step is prepared.
     * out_layout: the layout output `out_idx` could be written in without a conversion
     *   (given the input layouts set so far); 0 when none or not the plain size.
     * accepts_layout: true when input `in_idx` can be read in `layout`: as it is, or (a
     *   oneDNN conv) through one reorder of its own, cheaper than going through plain.
     * set_layout: from now on input `idx` (is_output 0) or output `idx` (is_output 1) is
     *   in `layout` (a value the calls above offered); *scratch_bytes may grow. */
    int (*out_layout)(void *state, int out_idx);
    int (*accepts_layout)(void *state, int in_idx, int layout);
    ember_status (*set_layout)(void *state, int is_output, int idx, int layout, size_t *scratch_bytes);

    /* Optional: true when run never reads constant input in_idx because prepare kept a
     * copy of its own (reordered weights), so the program may give that input's memory
     * back once every step is prepared (engine/program.c). */
    int (*drops_input)(void *state, int in_idx);

    /* Optional: true when run may find output 0 in the same memory as input in_idx (it
     * reads each input element before writing over it, as a oneDNN sum post-op does with
     * its residual). Asked after every set_layout; the program then replans its memory
     * with that output sharing the input's buffer where the input dies at this step. */
    int (*inplace_input)(void *state, int in_idx);
} ember_host_kernel;

/* EMBER_OK when the host fast paths can compute in bfloat16 natively (AVX512-BF16 or
 * AMX; EMBER_FAKE_NO_BF16=1 pretends not, for tests); else EMBER_E_UNSUPPORTED saying
 * why (ops/host/onednn_common.c). */
ember_status ember_host_bf16_check(void);

/* b when chained layout `layout` is float32 and blocks channels by b with the channel
 * block outermost ([N][C/b][H][W][b]: nChw16c, nChw8c), so at batch 1 tensors whose
 * channel counts are multiples of b concatenate along channels as consecutive bytes; 0
 * otherwise (bf16 ones too: their bytes fill only half of the plain slice). */
int ember_host_layout_channel_block(int layout);

/* Share ith of nth of n items handed out in whole units of `unit` (the last may be
 * short), as evenly as whole units allow: items [*lo, *hi). */
static inline void ember_host_share(int64_t n, int64_t unit, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t blocks = (n + unit - 1) / unit, per = blocks / nth, extra = blocks % nth;
    int64_t b0 = ith * per + (ith < extra ? ith : extra), b1 = b0 + per + (ith < extra);
    *lo = b0 * unit < n ? b0 * unit : n;
    *hi = b1 * unit < n ? b1 * unit : n;
}

/* A kernel's measurement switch, environment variable `name`: "0" = never (0), "all" =
 * every shape it can compute, past its shape rule (2, for tests), else its rule (1). */
static inline int ember_host_switch(const char *name)
{
    const char *v = getenv(name);
    if (v && v[0] == '0' && !v[1]) return 0;
    return v && v[0] == 'a' && v[1] == 'l' && v[2] == 'l' && !v[3] ? 2 : 1;
}

/* drops_input for convs that pack their weights and bias at prepare (ops/host.h). */
static inline int ember_host_drops_conv_weights(void *state, int in_idx)
{
    (void)state;
    return in_idx == 1 || in_idx == 2;
}

/* The runner that puts a pool's jobs on oneDNN's OpenMP team (onednn_team_run;
 * engine/threadpool.h: ember_threadpool_set_runner). */
ember_team_runner ember_host_team_runner(void);

/* Fast paths for `op`, in preference order; *n gets their count. */
const ember_host_kernel *const *ember_host_kernels_for(int op, int *n);
#endif
