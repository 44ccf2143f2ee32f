/* Lowering of the ops the graph passes introduce (ops/fused.c): Gelu and
 * EmberElementwiseChain. The same kernel calls as the reference glue, so the same
 * numbers. */
#include <string.h>

#include "../kernels/elementwise_chain.h"
#include "../kernels/gelu.h"
#include "lower.h"

ember_status ember_lower_gelu(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || x->dtype != EMBER_DT_FLOAT)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "Gelu is lowered for float32 only");
    const char *a = ember_attr_string(c->node, "approximate", "none");
    int mode = strcmp(a, "tanh") == 0;
    if (!mode && strcmp(a, "none") != 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "Gelu approximate '%s' is not lowered", a);
    return EMBER_LCALL(L, "k_gelu_f32", LIN(c, 0, 0), LOUT(c, 0, 0), LI(ember_op_numel(x)), LI(mode), LI(0), LI(1));
}

ember_status ember_lower_elementwise_chain(ember_lowered *L, const ember_op_ctx *c)
{
    const int64_t *prog;
    const float *consts;
    int np = ember_attr_ints(c->node, "program", &prog), nc = ember_attr_floats(c->node, "constants", &consts);
    if (np < 3 || np % 3 || c->n_in < 1 || c->n_in > K_EWC_MAX_INPUTS)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "malformed elementwise chain");
    int pb = ember_lower_blob(L, prog, sizeof(int64_t) * (size_t)np);
    float none = 0.0f;
    int cb = nc > 0 ? ember_lower_blob(L, consts, sizeof(float) * (size_t)nc) : ember_lower_blob(L, &none, sizeof none);
    if (pb < 0 || cb < 0) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
    ember_larg x[K_EWC_MAX_INPUTS];
    for (int i = 0; i < K_EWC_MAX_INPUTS; i++) x[i] = i < c->n_in ? LIN(c, i, 0) : (ember_larg){.kind = EMBER_LARG_NULL};
    return EMBER_LCALL(L, "k_elementwise_chain_f32", x[0], x[1], x[2], x[3], LOUT(c, 0, 0), LI(ember_op_numel(c->in[0])),
                       ember_larg_blob(pb), LI(np / 3), ember_larg_blob(cb), LI(0), LI(1));
}
