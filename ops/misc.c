/* Constant and Identity. */
#include <string.h>

#include "op.h"
#include "op_decls.h"

/* Finds which of Constant's value attributes is set; exactly one must be. */
static ember_status constant_source(ember_op_ctx *c, ember_dtype *dt, int *rank, int64_t *dims,
                                    const void **data)
{
    const ember_node *n = c->node;
    int found = 0;
    for (int i = 0; i < n->n_attrs; i++) {
        const ember_attr *a = &n->attrs[i];
        if (strcmp(a->name, "value") == 0 && a->t) {
            *dt = a->t->dtype;
            *rank = a->t->rank;
            memcpy(dims, a->t->dims, sizeof(int64_t) * EMBER_MAX_RANK);
            *data = a->t->data;
        } else if (strcmp(a->name, "value_float") == 0) {
            *dt = EMBER_DT_FLOAT, *rank = 0, *data = &a->f;
        } else if (strcmp(a->name, "value_int") == 0) {
            *dt = EMBER_DT_INT64, *rank = 0, *data = &a->i;
        } else if (strcmp(a->name, "value_floats") == 0) {
            *dt = EMBER_DT_FLOAT, *rank = 1, dims[0] = a->n, *data = a->floats;
        } else if (strcmp(a->name, "value_ints") == 0) {
            *dt = EMBER_DT_INT64, *rank = 1, dims[0] = a->n, *data = a->ints;
        } else if (strncmp(a->name, "value_string", 12) == 0 || strcmp(a->name, "sparse_value") == 0) {
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "attribute '%s' is not supported", a->name);
        } else {
            continue;
        }
        found++;
    }
    if (found != 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                             "needs exactly one value attribute, found %d", found);
    if (*dt == EMBER_DT_STRING || ember_dtype_size(*dt) == 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "value has unsupported type %s",
                             ember_dtype_name(*dt));
    return EMBER_OK;
}

ember_status ember_infer_constant(ember_op_ctx *c)
{
    ember_dtype dt;
    int rank;
    int64_t dims[EMBER_MAX_RANK] = {0};
    const void *data;
    TRY(constant_source(c, &dt, &rank, dims, &data));
    ember_op_set_out(c, 0, dt, rank, dims);
    /* Load-time inference may see constant data so shape rules downstream can use it. */
    if (!c->running) c->out[0]->data = (void *)data;
    return EMBER_OK;
}

ember_status ember_run_constant(ember_op_ctx *c)
{
    ember_dtype dt;
    int rank;
    int64_t dims[EMBER_MAX_RANK] = {0};
    const void *data;
    TRY(constant_source(c, &dt, &rank, dims, &data));
    memcpy(c->out[0]->data, data, c->out[0]->nbytes);
    return EMBER_OK;
}

ember_status ember_infer_identity(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs one input");
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_run_identity(ember_op_ctx *c)
{
    memcpy(c->out[0]->data, c->in[0]->data, c->out[0]->nbytes);
    return EMBER_OK;
}
