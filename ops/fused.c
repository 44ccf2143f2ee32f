/* Glue for the ops the recognition and fusion passes introduce: Gelu (ONNX opset 20,
 * float32; the passes also write it into older models). */
#include <string.h>

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
    int mode;
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
    int mode;
    TRY(gelu_mode(c, &mode));
    k_gelu_f32(c->in[0]->data, c->out[0]->data, ember_op_numel(c->in[0]), mode, 0, 1);
    return EMBER_OK;
}
