/* ONNX importer tests: models are built with the protobuf-c structs (or by hand, for
 * shapes protobuf-c itself could not pack) and fed to ember_onnx_import. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember_onnx.pb-c.h"
#include "importers/onnx.h"
#include "ops/op.h"
#include "onnx_build.h"

/* ---- a tiny model builder; everything it allocates is freed by pool_free ---- */

#define CAP 64 /* room in every repeated field the builder fills */

static void split(const char *csv, size_t *n, char ***arr)
{
    *arr = P(CAP * sizeof(char *));
    *n = 0;
    if (!csv) return;
    const char *p = csv;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = P(len + 1);
        memcpy(s, p, len);
        (*arr)[(*n)++] = s;
        if (!e) break;
        p = e + 1;
    }
}

static Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = P(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = op ? S(op) : NULL;
    n->name = name ? S(name) : NULL;
    split(ins, &n->n_input, &n->input);
    split(outs, &n->n_output, &n->output);
    n->attribute = P(CAP * sizeof *n->attribute);
    return n;
}

/* shape: NULL no type at all, "?" a type without shape, "" a scalar, "N,3" dims where a
 * non-number is a symbolic dim and "_" a dim with neither value nor name. */
static Onnx__ValueInfoProto *vi(const char *name, int elem, const char *shape)
{
    Onnx__ValueInfoProto *v = P(sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = S(name);
    if (!shape) return v;
    Onnx__TypeProto *t = v->type = P(sizeof *t);
    onnx__type_proto__init(t);
    Onnx__TypeProto__Tensor *tt = t->tensor_type = P(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (strcmp(shape, "?") == 0) return v;
    Onnx__TensorShapeProto *sp = tt->shape = P(sizeof *sp);
    onnx__tensor_shape_proto__init(sp);
    char **parts;
    size_t n = 0;
    if (*shape) split(shape, &n, &parts);
    sp->n_dim = n;
    sp->dim = P(CAP * sizeof *sp->dim);
    for (size_t i = 0; i < n; i++) {
        Onnx__TensorShapeProto__Dimension *d = sp->dim[i] = P(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        char *end;
        long long x = strtoll(parts[i], &end, 10);
        if (*end == '\0') {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = x;
        } else if (strcmp(parts[i], "_") != 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = parts[i];
        }
    }
    return v;
}

static Onnx__TensorProto *tensor(const char *name, int dt, int rank, const int64_t *dims,
                                 const void *raw, size_t nraw)
{
    Onnx__TensorProto *t = P(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = name ? S(name) : NULL;
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)rank;
    t->dims = P(sizeof(int64_t) * (size_t)(rank + 1));
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data.len = nraw;
        t->raw_data.data = memcpy(P(nraw), raw, nraw);
    }
    return t;
}

static Onnx__ModelProto *model(Onnx__GraphProto *g, int opset) { return model_new(g, opset, CAP); }

static uint8_t *pack(const Onnx__ModelProto *m, size_t *n)
{
    *n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = P(*n);
    onnx__model_proto__pack(m, buf);
    return buf;
}

/* Imports m; returns the status, *out the graph (or NULL). */
static ember_status import_model(const Onnx__ModelProto *m, const char *base, ember_graph **out)
{
    size_t n;
    uint8_t *buf = pack(m, &n);
    ember_model_meta meta;
    return ember_onnx_import(buf, n, base, out, &meta);
}

static void expect_error(const Onnx__ModelProto *m, const char *base, ember_status want,
                         const char *text)
{
    ember_graph *g = (ember_graph *)1;
    ember_status s = import_model(m, base, &g);
    cr_expect_eq(s, want, "status %s, want %s: %s", ember_status_name(s), ember_status_name(want),
                 ember_last_error());
    cr_expect_null(g);
    cr_expect(strstr(ember_last_error(), text) != NULL, "message '%s' lacks '%s'",
              ember_last_error(), text);
    ember_graph_free(g == (ember_graph *)1 ? NULL : g);
}

/* x -> Identity -> y */
static Onnx__ModelProto *identity_model(void)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    g->input[g->n_input++] = vi("x", EMBER_DT_FLOAT, "N,3");
    g->output[g->n_output++] = vi("y", EMBER_DT_FLOAT, "N,3");
    g->node[g->n_node++] = node("Identity", "id", "x", "y");
    return model(g, 13);
}

TestSuite(importer, .fini = pool_free);

Test(importer, identity_model_imports)
{
    Onnx__ModelProto *m = identity_model();
    Onnx__StringStringEntryProto *kv = P(sizeof *kv);
    onnx__string_string_entry_proto__init(kv);
    kv->key = S("author");
    kv->value = S("me");
    m->metadata_props = P(sizeof(void *));
    m->metadata_props[m->n_metadata_props++] = kv;
    size_t n;
    uint8_t *buf = pack(m, &n);
    ember_graph *g;
    ember_model_meta meta;
    cr_assert_eq(ember_onnx_import(buf, n, NULL, &g, &meta), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(g->n_inputs, 1);
    cr_assert_eq(g->n_outputs, 1);
    cr_assert_eq(g->n_nodes, 1);
    cr_assert_eq(g->opset, 13);
    const ember_value *x = &g->values[g->inputs[0]];
    cr_assert_str_eq(x->name, "x");
    cr_assert(x->flags & EMBER_VALUE_INPUT);
    cr_assert_eq(x->dtype, EMBER_DT_FLOAT);
    cr_assert_eq(x->shape.rank, 2);
    cr_assert_eq(x->shape.dims[0], -1);
    cr_assert_str_eq(g->symbols[x->shape.syms[0]], "N");
    cr_assert_eq(x->shape.dims[1], 3);
    cr_assert_eq(x->shape.syms[1], -1);
    cr_assert(g->values[g->outputs[0]].flags & EMBER_VALUE_OUTPUT);
    cr_assert_eq(g->nodes[0].op, EMBER_OP_IDENTITY);
    cr_assert_eq(g->nodes[0].opset, 13);
    cr_assert_eq(meta.ir_version, 8);
    cr_assert_eq(meta.n, 2);
    cr_assert_str_eq(meta.keys[0], "producer_name");
    cr_assert_str_eq(meta.values[0], "ember-tests");
    cr_assert_str_eq(meta.keys[1], "author");
    cr_assert_str_eq(meta.values[1], "me");
    ember_graph_free(g);
}

Test(importer, initializers_constants_and_absent_optionals)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    float w[4] = {1, 2, 3, 4};
    int64_t dims[2] = {2, 2};
    g->initializer[g->n_initializer++] = tensor("w", EMBER_DT_FLOAT, 2, dims, w, sizeof w);
    g->input[g->n_input++] = vi("w", EMBER_DT_FLOAT, "2,2"); /* old style: weights as inputs */
    g->input[g->n_input++] = vi("x", EMBER_DT_INT64, "_");
    Onnx__NodeProto *c = node("Constant", "", NULL, "c");
    attr(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t =
        tensor(NULL, EMBER_DT_FLOAT, 2, dims, w, sizeof w);
    g->node[g->n_node++] = c;
    g->node[g->n_node++] = node("Identity", "id", "w,,", "y,");
    g->output[g->n_output++] = vi("y", 0, NULL);
    g->output[g->n_output++] = vi("c", 0, NULL);
    ember_graph *eg;
    cr_assert_eq(import_model(model(g, 13), NULL, &eg), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(eg->n_inputs, 1);
    cr_assert_str_eq(eg->values[eg->inputs[0]].name, "x");
    cr_assert_eq(eg->values[eg->inputs[0]].shape.rank, 1);
    cr_assert_eq(eg->values[eg->inputs[0]].shape.dims[0], -1);
    int wi = ember_graph_find(eg, "w");
    cr_assert(eg->values[wi].flags & EMBER_VALUE_CONST);
    cr_assert_eq(eg->values[wi].nbytes, sizeof w);
    cr_assert_arr_eq(eg->values[wi].data, w, sizeof w);
    for (int i = 0; i < eg->n_nodes; i++) {
        const ember_node *n = &eg->nodes[i];
        if (n->op == EMBER_OP_CONSTANT) {
            cr_assert_str_eq(n->name, "node_0");
            cr_assert_eq(n->attrs[0].type, EMBER_ATTR_TENSOR);
            cr_assert_eq(n->attrs[0].t->rank, 2);
            cr_assert_arr_eq(n->attrs[0].t->data, w, sizeof w);
        } else {
            cr_assert_eq(n->n_inputs, 3);
            cr_assert_eq(n->inputs[1], -1);
            cr_assert_eq(n->inputs[2], -1);
            cr_assert_eq(n->n_outputs, 2);
            cr_assert_eq(n->outputs[1], -1);
        }
    }
    ember_graph_free(eg);
}

Test(importer, all_unsupported_ops_in_one_error)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    g->input[g->n_input++] = vi("x", EMBER_DT_FLOAT, "1");
    g->node[g->n_node++] = node("FooOp", "a", "x", "y1");
    g->node[g->n_node++] = node("Identity", "ok", "y1", "y2");
    g->node[g->n_node++] = node("FooOp", "b", "y2", "y3");
    Onnx__NodeProto *bar = node("Bar", "c", "y3", "y");
    bar->domain = S("com.x");
    g->node[g->n_node++] = bar;
    g->output[g->n_output++] = vi("y", EMBER_DT_FLOAT, "1");
    Onnx__ModelProto *m = model(g, 13);
    Onnx__OperatorSetIdProto *o = m->opset_import[m->n_opset_import++] = P(sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = S("com.x");
    o->has_version = 1;
    o->version = 1;
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "FooOp (nodes 'a', 'b')");
    cr_expect(strstr(ember_last_error(), "com.x.Bar (node 'c')"), "%s", ember_last_error());
    cr_expect(strstr(ember_last_error(), "Identity") == NULL, "%s", ember_last_error());
}

Test(importer, bad_tensors_refused)
{
    float w[3] = {1, 2, 3};
    struct {
        int dt, rank;
        int64_t dims[10];
        ember_status want;
        const char *text;
    } cases[] = {
        {EMBER_DT_FLOAT, 1, {4}, EMBER_E_INVALID_MODEL, "12 bytes of raw_data"},
        {EMBER_DT_FLOAT, 2, {-1, 3}, EMBER_E_INVALID_MODEL, "negative dimension"},
        {EMBER_DT_FLOAT, 3, {1ll << 40, 1ll << 40, 1ll << 40}, EMBER_E_INVALID_MODEL, "multiply"},
        {EMBER_DT_DOUBLE, 2, {INT64_MAX / 4, 3}, EMBER_E_INVALID_MODEL, "multiply"},
        {EMBER_DT_FLOAT, 9, {1, 1, 1, 1, 1, 1, 1, 1, 3}, EMBER_E_UNSUPPORTED, "rank 9"},
        {EMBER_DT_STRING, 1, {3}, EMBER_E_UNSUPPORTED, "string"},
        {14, 1, {3}, EMBER_E_UNSUPPORTED, "complex64"},
        {0, 1, {3}, EMBER_E_INVALID_MODEL, "no data type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Onnx__GraphProto *g = graph_new("main", CAP);
        g->initializer[g->n_initializer++] =
            tensor("w", cases[i].dt, cases[i].rank, cases[i].dims, w, sizeof w);
        g->node[g->n_node++] = node("Identity", "id", "w", "y");
        g->output[g->n_output++] = vi("y", 0, NULL);
        expect_error(model(g, 13), NULL, cases[i].want, cases[i].text);
        cr_expect(strstr(ember_last_error(), "'w'"), "case %zu: %s", i, ember_last_error());
    }
}

Test(importer, typed_fields_decoded)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    int64_t d3[1] = {3};
    Onnx__TensorProto *i8 = tensor("i8", EMBER_DT_INT8, 1, d3, NULL, 0);
    int32_t v[3] = {-1, 2, 127};
    i8->n_int32_data = 3;
    i8->int32_data = v;
    Onnx__TensorProto *u32 = tensor("u32", EMBER_DT_UINT32, 1, d3, NULL, 0);
    uint64_t u[3] = {1, 4000000000u, 7};
    u32->n_uint64_data = 3;
    u32->uint64_data = u;
    Onnx__TensorProto *short_ = tensor("short", EMBER_DT_FLOAT, 1, d3, NULL, 0);
    float f[2] = {1, 2};
    short_->n_float_data = 2;
    short_->float_data = f;
    g->initializer[g->n_initializer++] = i8;
    g->initializer[g->n_initializer++] = u32;
    g->node[g->n_node++] = node("Identity", "id", "i8", "y");
    g->output[g->n_output++] = vi("y", 0, NULL);
    ember_graph *eg;
    cr_assert_eq(import_model(model(g, 13), NULL, &eg), EMBER_OK, "%s", ember_last_error());
    int8_t want8[3] = {-1, 2, 127};
    uint32_t want32[3] = {1, 4000000000u, 7};
    cr_assert_arr_eq(eg->values[ember_graph_find(eg, "i8")].data, want8, 3);
    cr_assert_arr_eq(eg->values[ember_graph_find(eg, "u32")].data, want32, 12);
    ember_graph_free(eg);
    g->initializer[g->n_initializer++] = short_;
    expect_error(model(g, 13), NULL, EMBER_E_INVALID_MODEL, "2 values in float_data");
}

Test(importer, bad_shapes_and_types_refused)
{
    Onnx__ModelProto *m = identity_model();
    m->graph->input[0] = vi("x", EMBER_DT_FLOAT, "1,-2");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "input 'x' has negative dimension -2");
    m = identity_model();
    m->graph->input[0] = vi("x", EMBER_DT_STRING, "1");
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "input 'x'");
    m = identity_model();
    Onnx__TypeProto *t = m->graph->input[0]->type;
    Onnx__TypeProto__Sequence *seq = P(sizeof *seq);
    onnx__type_proto__sequence__init(seq);
    t->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    t->sequence_type = seq;
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "input 'x' has a sequence type");
}

Test(importer, structural_errors_refused)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    g->input[g->n_input++] = vi("x", EMBER_DT_FLOAT, "1");
    g->node[g->n_node++] = node("Identity", "a", "x,b_out", "a_out");
    g->node[g->n_node++] = node("Identity", "b", "a_out", "b_out");
    g->output[g->n_output++] = vi("b_out", 0, NULL);
    expect_error(model(g, 13), NULL, EMBER_E_INVALID_MODEL, "cycle");

    Onnx__ModelProto *m = identity_model();
    m->graph->node[0] = node("Identity", "id", "nowhere", "y");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "'nowhere'");

    m = identity_model();
    m->graph->node[m->graph->n_node++] = node("Identity", "id2", "x", "y");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "'y'");

    m = identity_model();
    m->graph->output[m->graph->n_output++] = vi("ghost", 0, NULL);
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "graph output 'ghost' is never produced");

    m = identity_model();
    m->graph->node[0]->op_type = S("");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "no op_type");

    m = identity_model();
    m->graph->input[m->graph->n_input++] = vi("x", EMBER_DT_FLOAT, "1");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "'x' is listed twice");

    m = identity_model();
    m->graph = NULL;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "no graph");

    m = identity_model();
    m->ir_version = 2;
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "IR version 2");

    m = identity_model();
    m->opset_import[0]->version = 99;
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "opset 99");
    m->opset_import[0]->version = 0;
    expect_error(m, NULL, EMBER_E_UNSUPPORTED, "opset 0");
    m->n_opset_import = 0;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "imports no opset");
}

Test(importer, attribute_types_checked)
{
    Onnx__ModelProto *m = identity_model();
    Onnx__NodeProto *c = node("Constant", "k", NULL, "k_out");
    m->graph->node[m->graph->n_node++] = c;
    Onnx__AttributeProto *a = attr(c, "value_int", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    float fl[2] = {1, 2};
    a->n_floats = 2;
    a->floats = fl;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "declared INT but holds FLOATS");

    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT; /* valid proto, wrong for the op */
    a->n_floats = 0;
    a->has_f = 1;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "'value_int' has type f, expected i");

    a->has_type = 0; /* inferred from the one field set */
    a->has_f = 0;
    a->has_i = 1;
    a->i = 5;
    ember_graph *g;
    cr_assert_eq(import_model(m, NULL, &g), EMBER_OK, "%s", ember_last_error());
    ember_graph_free(g);

    a->has_f = 1;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "has no type and holds both");
    a->has_f = a->has_i = 0;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "neither a type nor a value");
    a->has_i = 1;
    attr(c, "value_int", 0)->has_i = 1;
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "attribute 'value_int' twice");
}

/* If with branches that read values of the main graph, one of them two levels down. */
static Onnx__ModelProto *if_model(void)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    g->input[g->n_input++] = vi("cond", EMBER_DT_BOOL, "");
    g->input[g->n_input++] = vi("x", EMBER_DT_FLOAT, "2");
    Onnx__NodeProto *iff = node("If", "if", "cond", "z");
    Onnx__GraphProto *then = graph_new("then", CAP);
    then->node[then->n_node++] = node("Identity", "t", "b", "t_out");
    then->output[then->n_output++] = vi("t_out", EMBER_DT_FLOAT, "2");
    Onnx__GraphProto *els = graph_new("else", CAP);
    Onnx__NodeProto *inner = node("If", "inner", "cond", "e_out");
    Onnx__GraphProto *it = graph_new("inner_then", CAP), *ie = graph_new("inner_else", CAP);
    it->node[it->n_node++] = node("Identity", "it", "a", "it_out");
    it->output[it->n_output++] = vi("it_out", 0, NULL);
    ie->output[ie->n_output++] = vi("x", 0, NULL); /* an outer value as a direct output */
    attr(inner, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = it;
    attr(inner, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = ie;
    els->node[els->n_node++] = inner;
    els->output[els->n_output++] = vi("e_out", 0, NULL);
    attr(iff, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = then;
    attr(iff, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = els;
    /* listed before the nodes producing what its branches read */
    g->node[g->n_node++] = iff;
    g->node[g->n_node++] = node("Identity", "mk_b", "a", "b");
    g->node[g->n_node++] = node("Identity", "mk_a", "x", "a");
    g->output[g->n_output++] = vi("z", EMBER_DT_FLOAT, "2");
    return model(g, 13);
}

Test(importer, subgraphs_capture_outer_values)
{
    ember_graph *g;
    cr_assert_eq(import_model(if_model(), NULL, &g), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(g->n_nodes, 3);
    cr_assert_str_eq(g->nodes[0].name, "mk_a");
    cr_assert_str_eq(g->nodes[1].name, "mk_b");
    const ember_node *iff = &g->nodes[2];
    cr_assert_str_eq(iff->name, "if");
    cr_assert_eq(iff->n_inputs, 1);
    cr_assert_eq(iff->op, EMBER_OP_IF);
    const ember_graph *then = ember_node_attr(iff, "then_branch")->g;
    const ember_graph *els = ember_node_attr(iff, "else_branch")->g;
    cr_assert_not_null(then);
    cr_assert_eq(then->parent, g);
    cr_assert(then->values[ember_graph_find(then, "b")].flags & EMBER_VALUE_OUTER);
    cr_assert_eq(then->n_outputs, 1);
    cr_assert_eq(els->n_nodes, 1);
    cr_assert(els->values[ember_graph_find(els, "cond")].flags & EMBER_VALUE_OUTER);
    const ember_graph *ie = ember_node_attr(&els->nodes[0], "else_branch")->g;
    cr_assert(ie->values[ie->outputs[0]].flags & EMBER_VALUE_OUTER);
    cr_assert_eq(ie->values[ie->outputs[0]].flags & EMBER_VALUE_OUTPUT, EMBER_VALUE_OUTPUT);
    ember_graph_free(g);

    Onnx__ModelProto *m = if_model();
    m->graph->node[0]->attribute[0]->g->node[0]->input[0] = S("unknown_name");
    expect_error(m, NULL, EMBER_E_INVALID_MODEL, "'unknown_name'");
}

/* Model -> Graph -> Node(If) -> Attribute(then_branch) -> Graph -> ... `levels` deep,
 * written by hand: packing it with protobuf-c would recurse that deep. */
static uint8_t *nested_if_model(int levels, size_t *out_len)
{
    size_t *lg = P(sizeof(size_t) * (size_t)(levels + 1));
    size_t *la = P(sizeof(size_t) * (size_t)(levels + 1));
    size_t *ln = P(sizeof(size_t) * (size_t)(levels + 1));
#define VLEN(x) ((x) < 128 ? 1 : (x) < 16384 ? 2 : (x) < 2097152 ? 3 : 4)
    lg[0] = 0; /* innermost graph: empty */
    for (int i = 1; i <= levels; i++) {
        la[i] = 2 + 11 + 3 + 1 + VLEN(lg[i - 1]) + lg[i - 1]; /* name, type, g */
        ln[i] = 4 + 1 + VLEN(la[i]) + la[i];                  /* op_type "If", attribute */
        lg[i] = 1 + VLEN(ln[i]) + ln[i];
    }
    size_t total = 2 + 4 + 1 + VLEN(lg[levels]) + lg[levels];
    uint8_t *b = P(total), *p = b;
#define PUTV(x)                                   \
    do {                                          \
        size_t v_ = (x);                          \
        while (v_ >= 128) *p++ = (uint8_t)(v_ | 128), v_ >>= 7; \
        *p++ = (uint8_t)v_;                       \
    } while (0)
    *p++ = 0x08, *p++ = 8;                          /* ir_version 8 */
    *p++ = 0x42, *p++ = 2, *p++ = 0x10, *p++ = 13;  /* opset_import { version 13 } */
    *p++ = 0x3a;                                    /* graph */
    PUTV(lg[levels]);
    for (int i = levels; i >= 1; i--) {
        *p++ = 0x0a; /* Graph.node */
        PUTV(ln[i]);
        *p++ = 0x22, *p++ = 2, *p++ = 'I', *p++ = 'f';
        *p++ = 0x2a; /* Node.attribute */
        PUTV(la[i]);
        *p++ = 0x0a, *p++ = 11;
        memcpy(p, "then_branch", 11), p += 11;
        *p++ = 0xa0, *p++ = 0x01, *p++ = 5; /* type (field 20) = GRAPH */
        *p++ = 0x32; /* Attribute.g */
        PUTV(lg[i - 1]);
    }
    cr_assert_eq((size_t)(p - b), total);
    *out_len = total;
    return b;
}

Test(importer, deep_nesting_refused_without_crash)
{
    size_t n;
    uint8_t *buf = nested_if_model(10000, &n);
    ember_graph *g;
    ember_model_meta meta;
    cr_assert_eq(ember_onnx_import(buf, n, NULL, &g, &meta), EMBER_E_INVALID_MODEL);
    cr_assert_null(g);
    cr_assert(strstr(ember_last_error(), "deeper than"), "%s", ember_last_error());
    cr_assert(strstr(ember_last_error(), "byte offset"), "%s", ember_last_error());
    /* shallow nesting of the same shape is fine (the innermost If lacks else_branch,
     * which is the op's business, not the importer's) */
    buf = nested_if_model(5, &n);
    ember_status s = ember_onnx_import(buf, n, NULL, &g, &meta);
    cr_assert_eq(s, EMBER_OK, "%s", ember_last_error());
    ember_graph_free(g);
    /* between the message limit and the graph limit nothing crashes either */
    for (int levels = 20; levels <= 40; levels += 5) {
        buf = nested_if_model(levels, &n);
        s = ember_onnx_import(buf, n, NULL, &g, &meta);
        cr_assert(s == EMBER_OK || s == EMBER_E_INVALID_MODEL || s == EMBER_E_UNSUPPORTED);
        ember_graph_free(g);
    }
}

Test(importer, truncated_and_garbage_input)
{
    size_t n;
    uint8_t *buf = pack(identity_model(), &n);
    ember_graph *g;
    ember_model_meta meta;
    cr_assert_neq(ember_onnx_import(buf, n - 3, NULL, &g, &meta), EMBER_OK);
    cr_assert_null(g);
    cr_assert(strstr(ember_last_error(), "byte offset"), "%s", ember_last_error());
    cr_assert_neq(ember_onnx_import("\xff\xff\xff", 3, NULL, &g, &meta), EMBER_OK);
    cr_assert_neq(ember_onnx_import(NULL, 0, NULL, &g, &meta), EMBER_OK);
    cr_assert_neq(ember_onnx_import("\x0b\x0c", 2, NULL, &g, &meta), EMBER_OK); /* a group */
    cr_assert(strstr(ember_last_error(), "wire type 3"), "%s", ember_last_error());
}

Test(importer, mutated_models_never_crash)
{
    Onnx__ModelProto *m = if_model();
    float w[4] = {1, 2, 3, 4};
    int64_t dims[1] = {4};
    Onnx__GraphProto *g = m->graph;
    g->initializer[g->n_initializer++] = tensor("w", EMBER_DT_FLOAT, 1, dims, w, sizeof w);
    Onnx__NodeProto *c = node("Constant", "k", NULL, "k_out");
    attr(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t =
        tensor(NULL, EMBER_DT_FLOAT, 1, dims, w, sizeof w);
    g->node[g->n_node++] = c;
    g->node[g->n_node++] = node("Identity", "wid", "w", "w_out");
    g->output[g->n_output++] = vi("w_out", EMBER_DT_FLOAT, "N");
    size_t n;
    const uint8_t *base = pack(m, &n);
    uint8_t *buf = malloc(n + 16);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
#define RND() (rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17, rng)
    int ok = 0;
    for (int it = 0; it < 2000; it++) {
        size_t len = n;
        memcpy(buf, base, n);
        int edits = 1 + (int)(RND() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = RND() % len;
            switch (RND() % 4) {
            case 0: buf[at] ^= (uint8_t)(1u << (RND() % 8)); break;
            case 1: buf[at] = (uint8_t)RND(); break;
            case 2: len = at + 1; break;
            default: buf[at] = (uint8_t)(RND() % 2 ? 0x80 : 0xff); break;
            }
        }
        if (it % 100 == 99) /* plain noise too */
            for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)RND();
        ember_graph *eg;
        ember_model_meta meta;
        ember_status s = ember_onnx_import(buf, len, NULL, &eg, &meta);
        if (s == EMBER_OK) ok++;
        else cr_assert_null(eg);
        ember_graph_free(eg);
    }
    free(buf);
    cr_log_info("mutations: %d of 2000 still imported", ok);
}

Test(importer, long_chain_imports)
{
    enum { N = 200000 };
    Onnx__GraphProto *g = graph_new("chain", CAP);
    g->input[g->n_input++] = vi("t0", EMBER_DT_FLOAT, "4");
    g->output[g->n_output++] = vi("t200000", EMBER_DT_FLOAT, "4");
    Onnx__NodeProto *nodes = P(sizeof *nodes * N);
    char **names = P(sizeof(char *) * (N + 1));
    for (int i = 0; i <= N; i++) {
        char s[16];
        snprintf(s, sizeof s, "t%d", i);
        names[i] = S(s);
    }
    g->node = P(sizeof *g->node * N);
    for (int i = 0; i < N; i++) {
        Onnx__NodeProto *nd = &nodes[i];
        onnx__node_proto__init(nd);
        nd->op_type = "Neg"; /* an even number of negations: the output equals the input */
        nd->n_input = nd->n_output = 1;
        nd->input = &names[i];
        nd->output = &names[i + 1];
        g->node[N - 1 - i] = nd; /* reversed, so the sort has work to do */
    }
    g->n_node = N;
    size_t n;
    uint8_t *buf = pack(model(g, 13), &n);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ember_graph *eg;
    ember_model_meta meta;
    cr_assert_eq(ember_onnx_import(buf, n, NULL, &eg, &meta), EMBER_OK, "%s", ember_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_log_info("200k-node chain (%zu bytes) imported in %.0f ms", n,
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    cr_assert_eq(eg->n_nodes, N);
    for (int i = 1; i < N; i++) cr_assert_eq(eg->nodes[i].inputs[0], eg->nodes[i - 1].outputs[0]);
    ember_graph_free(eg);

    /* and it runs, through the public API */
    ember_model *m;
    ember_session *sess;
    cr_assert_eq(ember_model_load_memory(buf, n, NULL, &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "interp", &sess), EMBER_OK);
    float x[4] = {1.5f, -2.0f, 0.0f, 7.25f};
    ember_tensor in = {EMBER_DT_FLOAT, 1, {4}, x, sizeof x}, out;
    cr_assert_eq(ember_session_run(sess, &in, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 4);
    cr_assert_arr_eq(out.data, x, sizeof x);
    ember_tensor_release(&out);
    ember_session_free(sess);
    ember_model_free(m);
}

/* ---- external data ---- */

static char ext_dir[64];

static void ext_setup(void)
{
    strcpy(ext_dir, "/tmp/ember_importer_XXXXXX");
    cr_assert_not_null(mkdtemp(ext_dir));
    char path[128];
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    snprintf(path, sizeof path, "%s/w.bin", ext_dir);
    FILE *f = fopen(path, "wb");
    fwrite(w, sizeof w, 1, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/escape", ext_dir);
    cr_assert_eq(symlink("/etc/hostname", path), 0);
}

static void ext_teardown(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/w.bin", ext_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/escape", ext_dir);
    unlink(path);
    rmdir(ext_dir);
    pool_free();
}

static Onnx__ModelProto *external_model(const char *location, const char *offset,
                                        const char *length)
{
    Onnx__GraphProto *g = graph_new("main", CAP);
    int64_t dims[1] = {4};
    Onnx__TensorProto *t = tensor("w", EMBER_DT_FLOAT, 1, dims, NULL, 0);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->external_data = P(3 * sizeof *t->external_data);
    const char *kv[3][2] = {{"location", location}, {"offset", offset}, {"length", length}};
    for (int i = 0; i < 3; i++) {
        if (!kv[i][1]) continue;
        Onnx__StringStringEntryProto *e = P(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = S(kv[i][0]);
        e->value = S(kv[i][1]);
        t->external_data[t->n_external_data++] = e;
    }
    g->initializer[g->n_initializer++] = t;
    g->node[g->n_node++] = node("Identity", "id", "w", "y");
    g->output[g->n_output++] = vi("y", 0, NULL);
    return model(g, 13);
}

Test(importer, external_data, .init = ext_setup, .fini = ext_teardown)
{
    ember_graph *g;
    cr_assert_eq(import_model(external_model("w.bin", "16", "16"), ext_dir, &g), EMBER_OK, "%s",
                 ember_last_error());
    float want[4] = {5, 6, 7, 8};
    cr_assert_arr_eq(g->values[ember_graph_find(g, "w")].data, want, sizeof want);
    ember_graph_free(g);
    cr_assert_eq(import_model(external_model("./w.bin", NULL, NULL), ext_dir, &g), EMBER_OK,
                 "%s", ember_last_error());
    ember_graph_free(g);

    expect_error(external_model("../w.bin", NULL, NULL), ext_dir, EMBER_E_INVALID_MODEL, "'..'");
    expect_error(external_model("sub/../../x", NULL, NULL), ext_dir, EMBER_E_INVALID_MODEL, "'..'");
    expect_error(external_model("/etc/passwd", NULL, NULL), ext_dir, EMBER_E_INVALID_MODEL,
                 "absolute");
    expect_error(external_model("escape", NULL, NULL), ext_dir, EMBER_E_INVALID_MODEL,
                 "outside the model's folder");
    expect_error(external_model("missing.bin", NULL, NULL), ext_dir, EMBER_E_IO, "not found");
    cr_expect(strstr(ember_last_error(), "initializer 'w'"), "%s", ember_last_error());
    expect_error(external_model("w.bin", "20", NULL), ext_dir, EMBER_E_INVALID_MODEL,
                 "beyond the end of 'w.bin'");
    expect_error(external_model("w.bin", "0", "12"), ext_dir, EMBER_E_INVALID_MODEL, "length");
    expect_error(external_model("w.bin", "-4", NULL), ext_dir, EMBER_E_INVALID_MODEL, "offset");
    expect_error(external_model("w.bin", NULL, NULL), NULL, EMBER_E_INVALID_ARG, "base folder");
    expect_error(external_model("", NULL, NULL), ext_dir, EMBER_E_INVALID_MODEL, "location");
}

/* ---- single tensors (test-data .pb files) ---- */

Test(importer, tensor_roundtrip)
{
    int32_t v[6] = {1, -2, 3, -4, 5, -6};
    ember_tensor t = {EMBER_DT_INT32, 2, {2, 3}, v, sizeof v};
    void *buf;
    size_t n;
    cr_assert_eq(ember_onnx_write_tensor(&t, "input_0", &buf, &n), EMBER_OK, "%s",
                 ember_last_error());
    ember_tensor r;
    char *name;
    cr_assert_eq(ember_onnx_read_tensor(buf, n, &r, &name), EMBER_OK, "%s", ember_last_error());
    cr_assert_str_eq(name, "input_0");
    cr_assert_eq(r.dtype, EMBER_DT_INT32);
    cr_assert_eq(r.rank, 2);
    cr_assert_eq(r.dims[1], 3);
    cr_assert_eq(r.nbytes, sizeof v);
    cr_assert_arr_eq(r.data, v, sizeof v);
    free(r.data);
    free(name);
    free(buf);

    ember_tensor empty = {EMBER_DT_FLOAT, 2, {0, 5}, NULL, 0};
    cr_assert_eq(ember_onnx_write_tensor(&empty, NULL, &buf, &n), EMBER_OK, "%s",
                 ember_last_error());
    cr_assert_eq(ember_onnx_read_tensor(buf, n, &r, &name), EMBER_OK, "%s", ember_last_error());
    cr_assert_null(name);
    cr_assert_not_null(r.data);
    cr_assert_eq(r.nbytes, 0);
    free(r.data);
    free(buf);

    ember_tensor bad = {EMBER_DT_FLOAT, 1, {3}, v, 8};
    cr_assert_eq(ember_onnx_write_tensor(&bad, NULL, &buf, &n), EMBER_E_INVALID_ARG);
    cr_assert_null(buf);
}

Test(importer, read_tensor_typed_and_bad)
{
    int64_t d[1] = {3};
    Onnx__TensorProto *tp = tensor("h", EMBER_DT_FLOAT16, 1, d, NULL, 0);
    int32_t bits[3] = {0x3c00, 0xc000, 0x7bff};
    tp->n_int32_data = 3;
    tp->int32_data = bits;
    size_t n = onnx__tensor_proto__get_packed_size(tp);
    uint8_t *buf = P(n);
    onnx__tensor_proto__pack(tp, buf);
    ember_tensor r;
    cr_assert_eq(ember_onnx_read_tensor(buf, n, &r, NULL), EMBER_OK, "%s", ember_last_error());
    uint16_t want[3] = {0x3c00, 0xc000, 0x7bff};
    cr_assert_arr_eq(r.data, want, sizeof want);
    free(r.data);

    tp->data_type = EMBER_DT_STRING;
    n = onnx__tensor_proto__get_packed_size(tp);
    onnx__tensor_proto__pack(tp, buf);
    cr_assert_eq(ember_onnx_read_tensor(buf, n, &r, NULL), EMBER_E_UNSUPPORTED);
    cr_assert(strstr(ember_last_error(), "'h'"), "%s", ember_last_error());
    cr_assert_null(r.data);
    cr_assert_neq(ember_onnx_read_tensor(buf, n - 1, &r, NULL), EMBER_OK);
}

/* ---- tests/bad_models: every file there must be refused, with a message ---- */

#include <dirent.h>

Test(importer, bad_models_refused)
{
    const char *dir = EMBER_SOURCE_DIR "/tests/bad_models";
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".onnx") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        uint8_t *buf = P((size_t)n);
        cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        ember_graph *g;
        ember_model_meta meta;
        ember_status s = ember_onnx_import(buf, (size_t)n, dir, &g, &meta);
        cr_expect_neq(s, EMBER_OK, "%s was accepted", e->d_name);
        cr_expect_null(g);
        cr_expect_neq(ember_last_error()[0], '\0', "%s: no message", e->d_name);
        cr_log_info("%s: %s", e->d_name, ember_last_error());
        ember_graph_free(g);
        seen++;
    }
    closedir(d);
    cr_assert_gt(seen, 20, "only %d bad models found; run make_bad_models.py", seen);
}
