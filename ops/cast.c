/* Cast and CastLike. */
#include <string.h>

#include "elementwise.h"
#include "kernels/cast.h"
#include "op_decls.h"

static ember_status cast_infer_to(ember_op_ctx *c, ember_dtype to)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs an input");
    if (x->dtype != EMBER_DT_UNDEFINED && !k_cast_supported(x->dtype))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "casting from %s is not supported",
                             ember_dtype_name(x->dtype));
    if (to != EMBER_DT_UNDEFINED && !k_cast_supported(to))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "casting to %s is not supported",
                             ember_dtype_name(to));
    ember_op_set_out(c, 0, to, x->rank, x->dims);
    if (c->out[0]) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_infer_cast(ember_op_ctx *c)
{
    const ember_attr *to = ember_node_attr(c->node, "to");
    if (!to) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'to' is missing");
    if (to->i <= 0 || to->i > 64)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'to' has unknown type %lld",
                             (long long)to->i);
    return cast_infer_to(c, (ember_dtype)to->i);
}

ember_status ember_infer_cast_like(ember_op_ctx *c)
{
    const ember_op_tensor *like = ember_op_in(c, 1);
    if (!like) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs the target_type input");
    return cast_infer_to(c, like->dtype);
}

ember_status ember_run_cast(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    k_cast(x->dtype, x->data, c->out[0]->dtype, c->out[0]->data, ember_op_numel(x), 0, 1);
    return EMBER_OK;
}
