/* Lowering of the ops the graph passes introduce (ops/fused.c): Gelu. The same kernel
 * calls as the reference glue, so the same numbers. */
#include <string.h>

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
