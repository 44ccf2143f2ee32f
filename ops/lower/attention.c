/* Lowering of EmberAttention (engine/passes/attention.c): the reference kernel's call,
 * with its row of scores in the step's scratch. */
#include "../kernels/attention.h"
#include "lower.h"

ember_status ember_lower_attention(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    return EMBER_LCALL(L, "k_attention_f32", LIN(c, 0, 0), LIN(c, 1, 0), LIN(c, 2, 0), LOUT(c, 0, 0), LI(q->dims[0]),
                       LI(q->dims[1]), LI(k->dims[1]), LI(q->dims[2]), LI(q->dims[3]), LI(v->dims[3]),
                       LF(ember_attr_float(c->node, "scale", 1.0f)), LI(ember_attr_int(c->node, "divide", 0) != 0),
                       ember_larg_scratch(0), LI(0), LI(1));
}
