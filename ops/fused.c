/* Glue for the ops the recognition and fusion passes introduce: Gelu (ONNX opset 20,
 * float32; the passes also write it into older models) and EmberElementwiseChain (an
 * internal op: inputs all of the output's shape, attributes "program" (INTS, triples
 * of ops/kernels/elementwise_chain.h) and "constants" (FLOATS)). */
#include <string.h>

#include "kernels/elementwise_chain.h"
#include "kernels/gelu.h"
#include "op_decls.h"

/* approximate: "none" -> 0, "tanh" -> 1; anything else fails. */
static ember_status gelu_mode(const ember_op_ctx *c, int *mode)
{
    const char *a = ember_attr_string(c->node, "approximate", "none");
    if (strcmp(a, "none") == 0) *mode = 0;
    else if (strcmp(a, "tanh") == 0) *mode = 1;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "approximate is '%s', expected 'none' or 'tanh'", a);
    return EMBER_OK;
}

ember_status ember_infer_gelu(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || c->n_in != 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs exactly one input X");
    int mode = 0;
    TRY(gelu_mode(c, &mode));
    if (x->dtype != EMBER_DT_FLOAT)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "X of type %s is not supported (float32)",
                             ember_dtype_name(x->dtype));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    for (int k = 0; k < x->rank && c->out[0]; k++) c->out[0]->syms[k] = x->syms[k];
    return EMBER_OK;
}

ember_status ember_run_gelu(ember_op_ctx *c)
{
    int mode = 0;
    TRY(gelu_mode(c, &mode));
    k_gelu_f32(c->in[0]->data, c->out[0]->data, ember_op_numel(c->in[0]), mode, 0, 1);
    return EMBER_OK;
}

/* The program, checked against the inputs and constants it names. */
static ember_status chain_prog(const ember_op_ctx *c, const int64_t **prog, int *steps, const float **consts)
{
    int np = ember_attr_ints(c->node, "program", prog);
    int nc = ember_attr_floats(c->node, "constants", consts);
    if (nc < 0) nc = 0;
    if (np < 3 || np % 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "program must hold (op, kind, arg) triples");
    *steps = np / 3;
    for (int s = 0; s < *steps; s++) {
        int64_t op = (*prog)[3 * s], kind = (*prog)[3 * s + 1], arg = (*prog)[3 * s + 2];
        bool bad = op < 0 || op >= K_EWC_COUNT;
        if (!bad && op < K_EWC_BINARY_END)
            bad = kind == K_EWC_TENSOR ? arg < 1 || arg >= c->n_in : kind != K_EWC_CONST || arg < 0 || arg >= nc;
        if (!bad && op == K_EWC_CLIP) bad = arg < 0 || arg + 1 >= nc;
        if (bad) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "program step %d is malformed", s);
    }
    return EMBER_OK;
}

ember_status ember_infer_elementwise_chain(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || c->n_in > K_EWC_MAX_INPUTS)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs 1 to %d inputs", K_EWC_MAX_INPUTS);
    const int64_t *prog;
    const float *consts;
    int steps;
    TRY(chain_prog(c, &prog, &steps, &consts));
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        if (!t || t->dtype != EMBER_DT_FLOAT)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d must be a float32 tensor", i);
        bool same = t->rank == x->rank;
        for (int k = 0; same && k < x->rank; k++) same = t->dims[k] == x->dims[k];
        if (!same) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d differs in shape from input 0", i);
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    for (int k = 0; k < x->rank && c->out[0]; k++) c->out[0]->syms[k] = x->syms[k];
    return EMBER_OK;
}

ember_status ember_run_elementwise_chain(ember_op_ctx *c)
{
    const int64_t *prog;
    const float *consts;
    int steps;
    TRY(chain_prog(c, &prog, &steps, &consts));
    const float *ins[K_EWC_MAX_INPUTS] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < c->n_in; i++) ins[i] = c->in[i]->data;
    k_elementwise_chain_f32(ins[0], ins[1], ins[2], ins[3], c->out[0]->data, ember_op_numel(c->in[0]), prog, steps,
                            consts, 0, 1);
    return EMBER_OK;
}
