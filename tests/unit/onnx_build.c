/* Shared pieces of the tests' protobuf-c ONNX builders: see onnx_build.h. */
#include "onnx_build.h"

#include <criterion/criterion.h>
#include <ember.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void **pool;
static size_t pool_n, pool_cap;

void *P(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (pool_n == pool_cap) {
        pool_cap = pool_cap ? pool_cap * 2 : 256;
        pool = realloc(pool, pool_cap * sizeof *pool);
    }
    pool[pool_n++] = p;
    return p;
}

void pool_free(void)
{
    for (size_t i = 0; i < pool_n; i++) free(pool[i]);
    free(pool);
    pool = NULL;
    pool_n = pool_cap = 0;
}

char *S(const char *s) { return strcpy(P(strlen(s) + 1), s); }

Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = P(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    if (type) {
        a->has_type = 1;
        a->type = type;
    }
    n->attribute[n->n_attribute++] = a;
    return a;
}

Onnx__GraphProto *graph_new(const char *name, size_t cap)
{
    Onnx__GraphProto *g = P(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = S(name);
    g->node = P(cap * sizeof *g->node);
    g->input = P(cap * sizeof *g->input);
    g->output = P(cap * sizeof *g->output);
    g->initializer = P(cap * sizeof *g->initializer);
    return g;
}

Onnx__ModelProto *model_new(Onnx__GraphProto *g, int opset, size_t n_opsets)
{
    Onnx__ModelProto *m = P(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = S("ember-tests");
    m->graph = g;
    m->opset_import = P(n_opsets * sizeof *m->opset_import);
    Onnx__OperatorSetIdProto *o = m->opset_import[m->n_opset_import++] = P(sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = S("");
    o->has_version = 1;
    o->version = opset;
    return m;
}

Onnx__ValueInfoProto *vi_float(const char *name, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = P(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = S(name);
    Onnx__TypeProto *t = v->type = P(sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = t->tensor_type = P(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tt->has_elem_type = 1;
    tt->elem_type = 1; /* TensorProto.FLOAT */
    if (rank < 0) return v;
    Onnx__TensorShapeProto *sp = tt->shape = P(sizeof *sp);
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = P((size_t)(rank ? rank : 1) * sizeof *sp->dim);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = sp->dim[i] = P(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
    }
    return v;
}

Onnx__NodeProto *node_csv(Onnx__GraphProto *g, const char *op, const char *ins_csv, const char *out)
{
    enum { ROOM = 32 };
    Onnx__NodeProto *n = P(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    char name[32], buf[256];
    snprintf(name, sizeof name, "n%zu", g->n_node);
    n->name = S(name);
    n->input = P(ROOM * sizeof(char *));
    snprintf(buf, sizeof buf, "%s", ins_csv);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) n->input[n->n_input++] = S(tok);
    n->output = P(sizeof(char *));
    n->output[n->n_output++] = S(out);
    n->attribute = P(ROOM * sizeof *n->attribute);
    g->node[g->n_node++] = n;
    return n;
}

struct ember_model *model_built_load(Onnx__GraphProto *g, int opset)
{
    Onnx__ModelProto *m = model_new(g, opset, 1);
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = P(n);
    onnx__model_proto__pack(m, buf);
    ember_model *model;
    cr_assert_eq(ember_model_load_memory(buf, n, NULL, &model), EMBER_OK, "%s", ember_last_error());
    pool_free();
    return model;
}
