/* Helpers shared by the nn op glue (ops/nn_*.c): window geometry of convolutions and
 * pools, and small dtype checks. */
#ifndef EMBER_NN_COMMON_H
#define EMBER_NN_COMMON_H
#include "kernels/conv.h"
#include "op.h"

/* Window attributes of Conv / ConvTranspose / pools for nd spatial dims. */
typedef struct nn_window {
    int nd;
    int64_t k[K_CONV_MAX_SP], s[K_CONV_MAX_SP], d[K_CONV_MAX_SP];
    int64_t pb[K_CONV_MAX_SP], pe[K_CONV_MAX_SP];
    int auto_pad; /* NN_PAD_* */
    int ceil_mode;
} nn_window;

enum { NN_PAD_NOTSET, NN_PAD_SAME_UPPER, NN_PAD_SAME_LOWER, NN_PAD_VALID };

/* Reads kernel_shape (or takes `kernel` when non-NULL and the attribute is absent; a
 * present attribute must agree with it), strides, dilations, pads, auto_pad, ceil_mode. */
ember_status nn_window_read(const ember_op_ctx *c, int nd, const int64_t *kernel, nn_window *w);
/* Output spatial dims of a forward window (conv, pool) over `in` (-1 = unknown, giving
 * -1); resolves SAME pads when the input is known. */
ember_status nn_window_out(const ember_op_ctx *c, nn_window *w, const int64_t *in, int64_t *out);
/* Fills kernel geometry for an image `in` and window grid `out`. */
void nn_window_geom(const nn_window *w, const int64_t *in, const int64_t *out, k_conv_geom *g);

/* Fails unless t's dtype is float32. */
ember_status nn_need_f32(const ember_op_ctx *c, const ember_op_tensor *t, const char *what);
/* Fails unless input i is present with the given rank (rank -1 = unknown passes). */
ember_status nn_need_rank(const ember_op_ctx *c, int i, int rank, const char *what);
/* Product of dims[from..to). */
int64_t nn_prod(const int64_t *dims, int from, int to);
#endif

/* Shapes of a convolution; nd (w.nd) = 0 when ranks are unknown, Cg.. set only when all
 * shapes are known (outsp > 0 or the dims known). */
typedef struct nn_conv_plan {
    nn_window w;
    int64_t N, C, M, G, Cg, Mg, kt, insp, outsp;
    int64_t in[K_CONV_MAX_SP], out[K_CONV_MAX_SP];
    int pointwise, depthwise;
} nn_conv_plan;
/* Forward convolution of input xi with weights wi (bias bi, -1 = none): validates shapes
 * and attributes (not dtypes) and fills p. */
ember_status nn_conv_plan_build(ember_op_ctx *c, nn_conv_plan *p, int xi, int wi, int bi);
/* Sets output 0 to [N, M, out...] of dtype dt (rank -1 when unknown). */
void nn_conv_set_out(ember_op_ctx *c, const nn_conv_plan *p, ember_dtype dt);

/* Numpy matmul of a [..., M, K] and b [..., K, N] (1-D operands promoted and their dim
 * dropped from the result). */
typedef struct nn_mm {
    int64_t M, N, K, batch;
    int brank;
    int64_t bdims[EMBER_MAX_RANK], astr[EMBER_MAX_RANK], bstr[EMBER_MAX_RANK];
    int fold; /* b has no batch dims: a's batch can be folded into M */
} nn_mm;
/* Validates and fills mm (when shapes are known) and the output shape (rank -1 when the
 * input ranks are unknown). */
ember_status nn_matmul_plan(const ember_op_ctx *c, const ember_op_tensor *a,
                            const ember_op_tensor *b, nn_mm *mm, int *rank, int64_t *dims);
/* The GEMM calls a planned matmul needs: with fold, one call of M*batch rows; else one
 * call of M rows per batch element. out: *M rows per call, *calls. */
static inline void nn_mm_calls(const nn_mm *mm, int64_t *M, int64_t *calls)
{
    *M = mm->fold ? mm->M * mm->batch : mm->M;
    *calls = mm->fold ? 1 : mm->batch;
}
/* Matrix indices into a and b of batch element i. */
void nn_mm_batch(const nn_mm *mm, int64_t i, int64_t *ai, int64_t *bi);

/* The activation the fusion pass attached to a Conv / Gemm / MatMul node (attribute
 * "ember_activation", the ONNX op name, with "ember_act_min"/"ember_act_max" for Clip and
 * "ember_act_alpha"/"ember_act_beta" for LeakyRelu and HardSigmoid): its K_ACT_* kind
 * (K_ACT_NONE when there is none) and parameters a, b for k_activation_f32. Fails on a
 * name that is not a fusable activation, or when the output is not float32. */
ember_status nn_fused_act(const ember_op_ctx *c, int *kind, float *a, float *b);

/* float32 staging of other dtypes (float16, bfloat16, int8, uint8) for ops whose kernels
 * compute in float: true when t's dtype is one of those or float32. */
bool nn_f32_convertible(ember_dtype dt);
void nn_to_f32(const ember_op_tensor *t, float *dst);
/* Writes n floats into t's data in t's dtype (integers rounded half to even, saturated). */
void nn_from_f32(const float *src, int64_t n, ember_op_tensor *t);
