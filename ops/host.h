/* Host fast paths: optional replacements for an op's reference run() on the CPU backend
 * (oneDNN convolutions and pools, OpenBLAS GEMM, ...). The reference kernels stay the
 * oracle; a fast path is chosen per node when the program is built, and may decline.
 * The list lives in ops/host/host.def: one line per fast path, nothing else names them. */
#ifndef EMBER_HOST_H
#define EMBER_HOST_H
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
} ember_host_kernel;

/* Fast paths for `op`, in preference order; *n gets their count. */
const ember_host_kernel *const *ember_host_kernels_for(int op, int *n);
#endif
