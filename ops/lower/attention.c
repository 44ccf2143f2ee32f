/* Lowering of EmberAttention (engine/passes/attention.c): the reference kernel's call,
 * its shapes and mask strides in a constant blob, its row of scores in the step's scratch. */
#include "../kernels/attention.h"
#include "lower.h"

ember_status ember_lower_attention(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *mask = ember_op_in(c, 3);
    k_attn_geom g = k_attn_geom_of(c->in[0]->dims, c->in[1]->dims, c->in[2]->dims,
                                   ember_attr_float(c->node, "scale", 1.0f), ember_attr_int(c->node, "divide", 0) != 0,
                                   mask ? mask->rank : -1, mask ? mask->dims : NULL);
    int bl = ember_lower_blob(L, &g, sizeof g);
    if (bl < 0) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
    return EMBER_LCALL(L, "k_attention_f32", LIN(c, 0, 0), LIN(c, 1, 0), LIN(c, 2, 0), mask ? LIN(c, 3, 0) : LNULL,
                       LOUT(c, 0, 0), ember_larg_blob(bl), ember_larg_scratch(0), LI(0), LI(1));
}
