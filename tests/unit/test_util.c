/* Helpers shared by the unit tests: see test_util.h. */
#include "test_util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph_edit.h"
#include "engine/model.h"
#include "importers/onnx.h"

void *ut_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

void *ut_read_file(const char *path, size_t *size)
{
    void *buf = ut_slurp(path, size);
    cr_assert_not_null(buf, "cannot open %s", path);
    return buf;
}

char *ut_read_text(const char *path)
{
    size_t n;
    char *buf = ut_read_file(path, &n);
    buf[n] = 0;
    return buf;
}

void ut_load_pb(const char *path, ember_tensor *t)
{
    size_t n;
    void *buf = ut_read_file(path, &n);
    cr_assert_eq(ember_onnx_read_tensor(buf, n, t, NULL), EMBER_OK, "%s", ember_last_error());
    free(buf);
}

ember_model *ut_load_zoo(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, EMBER_SHARED_DIR "/models/%s/model.onnx", name);
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    return m;
}

void ut_load_zoo_pb(const char *name, const char *kind, int i, ember_tensor *t)
{
    char path[512];
    snprintf(path, sizeof path, EMBER_SHARED_DIR "/models/%s/test_data_set_0/%s_%d.pb", name, kind, i);
    ut_load_pb(path, t);
}

float ut_frand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

int ut_irand(uint32_t *state, int lo, int hi)
{
    *state = *state * 1664525u + 1013904223u;
    return lo + (int)((*state >> 8) % (uint32_t)(hi - lo + 1));
}

float *ut_rand_buf(uint32_t *state, int64_t n, float scale)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = ut_frand(state) * scale;
    return p;
}

ember_op_tensor ut_op_tensor(ember_dtype dt, int rank, const int64_t *dims, void *data)
{
    ember_op_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    for (int k = 0; k < EMBER_MAX_RANK; k++) t.syms[k] = -1;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    t.data = data;
    t.nbytes = (size_t)n * ember_dtype_size(dt);
    return t;
}

void ut_expect_f32_eq(const ember_op_tensor *t, const float *want, int n, double eps)
{
    for (int i = 0; i < n; i++)
        cr_expect_float_eq(((float *)t->data)[i], want[i], eps, "element %d: %g vs %g", i, ((float *)t->data)[i],
                           want[i]);
}

void ut_assert_f32_close(const ember_op_tensor *t, const float *want, int64_t n)
{
    cr_assert_eq(t->dtype, EMBER_DT_FLOAT);
    cr_assert_eq(ember_op_numel(t), n, "numel %lld, expected %lld", (long long)ember_op_numel(t), (long long)n);
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabsf(((const float *)t->data)[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i]),
                  "element %lld: got %g, expected %g", (long long)i, ((const float *)t->data)[i], want[i]);
}

void ut_assert_op_close(const ember_op_tensor *ref, const ember_op_tensor *got, const char *what, float rtol,
                        float atol, const char *label)
{
    cr_assert_eq(ref->rank, got->rank, "%s: rank", what);
    for (int d = 0; d < ref->rank; d++) cr_assert_eq(ref->dims[d], got->dims[d], "%s: dim %d", what, d);
    int64_t n = ember_op_numel(ref);
    const float *a = ref->data, *b = got->data;
    for (int64_t i = 0; i < n; i++)
        cr_assert(fabsf(a[i] - b[i]) <= atol + rtol * fabsf(a[i]), "%s: element %lld: reference %.8g, %s %.8g", what,
                  (long long)i, a[i], label, b[i]);
}

int ut_input(ember_graph *g, const char *name, int rank, const int64_t *dims)
{
    int v = ember_graph_add_value(g, name);
    cr_assert_geq(v, 0);
    ember_value *val = &g->values[v];
    val->flags = EMBER_VALUE_INPUT;
    val->dtype = EMBER_DT_FLOAT;
    val->shape.rank = rank;
    for (int i = 0; i < rank; i++) val->shape.dims[i] = dims[i];
    g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = v;
    return v;
}

int ut_node(ember_graph *g, const char *op, int opset, const int *ins, int n_in, const char *out,
            const ember_attr *attrs, int n_attrs)
{
    int o = ember_graph_value(g, out);
    ember_attr *copy = NULL;
    if (n_attrs) {
        copy = ember_arena_alloc(&g->arena, sizeof *copy * (size_t)n_attrs);
        memcpy(copy, attrs, sizeof *copy * (size_t)n_attrs);
        for (int a = 0; a < n_attrs; a++)
            if (copy[a].type == EMBER_ATTR_INTS) {
                int64_t *v = ember_arena_alloc(&g->arena, sizeof(int64_t) * (size_t)copy[a].n);
                memcpy(v, copy[a].ints, sizeof(int64_t) * (size_t)copy[a].n);
                copy[a].ints = v;
            }
    }
    int ni = ember_graph_add_node(g, NULL, op, "", ins, n_in, &o, 1, copy, n_attrs);
    cr_assert_geq(ni, 0);
    g->nodes[ni].opset = opset;
    g->nodes[ni].op = ember_op_lookup("", op);
    cr_assert_geq(g->nodes[ni].op, 0, "no op %s", op);
    return o;
}

void ut_output(ember_graph *g, int v)
{
    g->values[v].flags |= EMBER_VALUE_OUTPUT;
    g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = v;
}

void ut_graph_finish(ember_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        cr_assert_eq(ember_op_check_attrs(&g->nodes[i]), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_graph_toposort(g), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
}
