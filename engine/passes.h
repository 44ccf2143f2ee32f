/* Graph optimization passes (engine/passes/, one file each) and the driver that runs
 * them to a fixed point. Every pass keeps the graph runnable by the interpreter and
 * its results equal to the unoptimized graph's (exactly, except BN folding and the
 * LayerNorm / GELU recognition, which reassociate float math: within rtol 1e-4 /
 * atol 1e-5 on the model zoo). Graph
 * input and output names, order, dtypes and shapes never change.
 *
 * Each pass takes a topologically sorted root graph, leaves it sorted, with producers
 * set. Nodes holding subgraphs are never rewritten, values a subgraph reads by name
 * keep their name, and a node's implicit (captured) inputs count as dependencies. Shapes of values a pass creates are set by the pass; the
 * driver re-runs ember_graph_infer after each round. */
#ifndef EMBER_PASSES_H
#define EMBER_PASSES_H
#include <stdio.h>

#include "graph.h"

typedef struct ember_pass_stats {
    int removed; /* nodes removed (net: a pass that adds nodes subtracts them) */
    int changed; /* nodes rewritten, values folded or merged, constants dropped */
} ember_pass_stats;

/* X(ENUM, "name", function), in the order one round runs them. */
#define EMBER_PASSES(X)                                  \
    X(IDENTITY, "identity-removal", ember_pass_identity) \
    X(FOLD, "constant-folding", ember_pass_fold)         \
    X(CSE, "cse", ember_pass_cse)                        \
    X(LAYERNORM, "layernorm", ember_pass_layernorm)      \
    X(GELU, "gelu", ember_pass_gelu)                     \
    X(BN_FOLD, "bn-folding", ember_pass_bn_fold)         \
    X(MATMUL_BIAS, "matmul-bias", ember_pass_matmul_bias) \
    X(FUSE, "fusion", ember_pass_fuse)                   \
    X(TRANSPOSE_SINK, "transpose-sinking", ember_pass_transpose_sink) \
    X(RESHAPE, "transpose-reshape", ember_pass_reshape)  \
    X(ATTENTION, "attention", ember_pass_attention)      \
    X(ELEMENTWISE, "elementwise-fusion", ember_pass_elementwise_fuse) \
    X(DCE, "dce", ember_pass_dce)

enum ember_pass {
#define X(e, name, fn) EMBER_PASS_##e,
    EMBER_PASSES(X)
#undef X
    EMBER_PASS_COUNT
};

/* Each pass alone (the driver runs them all):
 *   identity:          Identity, and Dropout in inference mode, removed; readers read
 *                      the input.
 *   constant-folding:  nodes whose inputs are all constants (and Shape/Size of
 *                      statically shaped values) evaluated once with the ops' own
 *                      kernels; Constant nodes become initializers. Outputs over
 *                      EMBER_FOLD_MAX_BYTES stay computed at run time.
 *   cse:               identical constants, then identical nodes (op, inputs,
 *                      attributes by value), merged.
 *   layernorm:         the opset-14 LayerNormalization decomposition (ReduceMean, Sub,
 *                      Pow/Mul, ReduceMean, Add eps, Sqrt, Div/Reciprocal+Mul, Mul gamma,
 *                      Add beta over trailing axes) becomes one LayerNormalization.
 *   gelu:              x * 0.5 * (1 + erf(x / sqrt 2)) in its usual orders, and the tanh
 *                      approximation, become one Gelu node.
 *   bn-folding:        BatchNormalization folded into the Conv / Gemm / MatMul(+Add)
 *                      before it.
 *   matmul-bias:       Add(MatMul(A, W), bias) with A of rank >= 3 and constant W, bias
 *                      becomes Reshape -> Gemm(bias) -> Reshape (views: no copies).
 *   fusion:            an activation (Relu, Clip with constant bounds, Sigmoid,
 *                      LeakyRelu, HardSigmoid, Tanh; Gelu and Mul(y, Sigmoid(y)) = SiLU
 *                      into Gemm / MatMul only) after a Conv / Gemm / MatMul, directly or
 *                      through a Reshape, becomes that node's "ember_activation"
 *                      attribute; rank-2 MatMul + Add of a constant bias becomes Gemm.
 *   transpose-sinking: a Transpose read only by an elementwise node (unary; binary with
 *                      a float32 constant, or with both operands transposed alike) moves
 *                      below it, towards another Transpose to cancel with.
 *   transpose-reshape: Transpose pairs composed or cancelled; chains of
 *                      Reshape/Squeeze/Unsqueeze/Flatten collapsed into one Reshape;
 *                      no-op Transpose/Reshape removed.
 *   attention:         Transpose(q) . Transpose(k)^T [/ or * scalar] [+ mask, or
 *                      Where(mask, ., -inf / finfo.min)] -> Softmax -> . Transpose(v) ->
 *                      Transpose back, on [B, S, H, D] heads, becomes one
 *                      EmberAttention(q, k, v[, mask]) (within the dot products' rounding;
 *                      the mask any float32 broadcasting to [B, H, Sq, Sk]).
 *   elementwise-fusion: chains of elementwise nodes (unary, Clip, binary with a scalar
 *                      constant or a same-shape tensor) become one EmberElementwiseChain
 *                      node that makes one pass over memory.
 *   dce:               nodes that reach no graph output removed; unreferenced
 *                      constants' data dropped. */
#define X(e, name, fn) ember_status fn(ember_graph *g, ember_pass_stats *st);
EMBER_PASSES(X)
#undef X

#define EMBER_FOLD_MAX_BYTES ((size_t)64 << 20)
#define EMBER_OPTIMIZE_MAX_ROUNDS 8

typedef struct ember_optimize_report {
    int rounds;
    int nodes_before, nodes_after;
    ember_pass_stats pass[EMBER_PASS_COUNT]; /* summed over rounds */
} ember_optimize_report;

/* Runs every pass, round after round, until a round changes nothing (at most
 * EMBER_OPTIMIZE_MAX_ROUNDS), re-inferring shapes after each round. report may be NULL.
 * On failure the graph may be partly optimized but is still consistent unless the
 * status is EMBER_E_INTERNAL. */
ember_status ember_graph_optimize(ember_graph *g, ember_optimize_report *report);
const char *ember_pass_name(int pass);
void ember_optimize_report_print(const ember_optimize_report *r, FILE *f);
#endif
