/* The public API: models and sessions. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "model.h"
#include "status.h"

static ember_status load_bytes(const void *data, size_t size, const char *base_dir,
                               const char *what, ember_model **out)
{
    ember_model *m = calloc(1, sizeof *m);
    if (!m) return ember_error(EMBER_E_NO_MEMORY, "out of memory loading %s", what);
    ember_status s = ember_onnx_import(data, size, base_dir, &m->graph, &m->meta);
    if (s == EMBER_OK) s = ember_graph_infer(m->graph);
    if (s != EMBER_OK) {
        ember_error_prefix(s, "%s", what);
        ember_model_free(m);
        return s;
    }
    *out = m;
    return EMBER_OK;
}

ember_status ember_model_load(const char *path, ember_model **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load: model pointer is NULL");
    *out = NULL;
    if (!path) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return ember_error(EMBER_E_IO, "cannot open '%s': %s", path, strerror(errno));
    ember_status s = EMBER_OK;
    unsigned char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        s = ember_error(EMBER_E_IO, "cannot read '%s': not a regular file", path);
        goto done;
    }
    buf = malloc((size_t)size ? (size_t)size : 1);
    if (!buf) {
        s = ember_error(EMBER_E_NO_MEMORY, "out of memory reading '%s' (%ld bytes)", path, size);
        goto done;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        s = ember_error(EMBER_E_IO, "cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    /* External data resolves inside the model's folder only. */
    char *dir = strdup(path);
    if (!dir) {
        s = ember_error(EMBER_E_NO_MEMORY, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash == dir ? (void)(dir[1] = '\0') : (void)(*slash = '\0');
    else strcpy(dir, ".");
    s = load_bytes(buf, (size_t)size, dir, path, out);
    free(dir);
done:
    free(buf);
    fclose(f);
    return s;
}

ember_status ember_model_load_memory(const void *data, size_t size, const char *base_dir,
                                     ember_model **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load_memory: model pointer is NULL");
    *out = NULL;
    if (!data && size) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load_memory: data is NULL");
    return load_bytes(data, size, base_dir, "model in memory", out);
}

void ember_model_free(ember_model *m)
{
    if (!m) return;
    ember_graph_free(m->graph);
    free(m);
}

const char *ember_model_last_error(const ember_model *m) { return m ? m->last_error : ""; }

int ember_model_num_inputs(const ember_model *m) { return m ? m->graph->n_inputs : 0; }
int ember_model_num_outputs(const ember_model *m) { return m ? m->graph->n_outputs : 0; }

static void fill_info(const ember_graph *g, int v, ember_io_info *info)
{
    const ember_value *val = &g->values[v];
    memset(info, 0, sizeof *info);
    info->name = val->name;
    info->dtype = val->dtype;
    info->rank = val->shape.rank;
    for (int i = 0; i < val->shape.rank && i < EMBER_MAX_RANK; i++) {
        info->dims[i] = val->shape.dims[i];
        int s = val->shape.syms[i];
        info->dim_names[i] = (val->shape.dims[i] < 0 && s >= 0 && s < g->n_symbols) ? g->symbols[s] : NULL;
    }
}

ember_status ember_model_input_info(const ember_model *m, int i, ember_io_info *info)
{
    if (!m || !info || i < 0 || i >= m->graph->n_inputs)
        return ember_error(EMBER_E_INVALID_ARG, "input index %d out of range", i);
    fill_info(m->graph, m->graph->inputs[i], info);
    return EMBER_OK;
}

ember_status ember_model_output_info(const ember_model *m, int i, ember_io_info *info)
{
    if (!m || !info || i < 0 || i >= m->graph->n_outputs)
        return ember_error(EMBER_E_INVALID_ARG, "output index %d out of range", i);
    fill_info(m->graph, m->graph->outputs[i], info);
    return EMBER_OK;
}

ember_status ember_model_metadata(const ember_model *m, int i, const char **key, const char **value)
{
    if (!m || !key || !value || i < 0 || i >= m->meta.n)
        return ember_error(EMBER_E_INVALID_ARG, "metadata index %d out of range", i);
    *key = m->meta.keys[i];
    *value = m->meta.values[i];
    return EMBER_OK;
}

ember_status ember_session_create(const ember_model *m, const char *backend, ember_session **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_session_create: session pointer is NULL");
    *out = NULL;
    if (!m) return ember_error(EMBER_E_INVALID_ARG, "ember_session_create: model is NULL");
    if (backend && strcmp(backend, "interp") != 0)
        return ember_error(EMBER_E_INVALID_ARG, "unknown backend '%s' (available: interp)", backend);
    ember_session *s = calloc(1, sizeof *s);
    if (!s) return ember_error(EMBER_E_NO_MEMORY, "out of memory creating a session");
    s->model = m;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return EMBER_OK;
}

void ember_session_free(ember_session *s)
{
    if (!s) return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *ember_session_last_error(const ember_session *s) { return s ? s->last_error : ""; }

/* Checks a caller tensor against the declared input; binds symbolic dims consistently. */
static ember_status check_input(const ember_graph *g, int idx, const ember_tensor *t,
                                int64_t *sym_vals)
{
    const ember_value *v = &g->values[g->inputs[idx]];
    if (t->dtype != v->dtype)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': expected dtype %s, got %s", v->name,
                           ember_dtype_name(v->dtype), ember_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > EMBER_MAX_RANK)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': rank %d is out of range", v->name, t->rank);
    if (v->shape.rank >= 0 && t->rank != v->shape.rank)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': expected rank %d, got %d", v->name,
                           v->shape.rank, t->rank);
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': dimension %d is negative", v->name, i);
        if (v->shape.rank >= 0 && v->shape.dims[i] >= 0 && v->shape.dims[i] != t->dims[i])
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': dimension %d must be %lld, got %lld",
                               v->name, i, (long long)v->shape.dims[i], (long long)t->dims[i]);
        int s = v->shape.rank >= 0 ? v->shape.syms[i] : -1;
        if (s >= 0 && s < g->n_symbols) {
            if (sym_vals[s] >= 0 && sym_vals[s] != t->dims[i])
                return ember_error(EMBER_E_INVALID_ARG,
                                   "input '%s': dimension %d ('%s') is %lld, but another input bound "
                                   "'%s' to %lld",
                                   v->name, i, g->symbols[s], (long long)t->dims[i], g->symbols[s],
                                   (long long)sym_vals[s]);
            sym_vals[s] = t->dims[i];
        }
        if (t->dims[i] && n > INT64_MAX / t->dims[i])
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': element count overflows", v->name);
        n *= t->dims[i];
    }
    size_t need = (size_t)n * ember_dtype_size(t->dtype);
    if (t->nbytes < need || (!t->data && need))
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': shape needs %zu bytes, buffer has %zu",
                           v->name, need, t->nbytes);
    return EMBER_OK;
}

ember_status ember_session_run(ember_session *s, const ember_tensor *inputs, int n_inputs,
                               ember_tensor *outputs, int n_outputs)
{
    ember_error_clear();
    if (!s) return ember_error(EMBER_E_INVALID_ARG, "ember_session_run: session is NULL");
    const ember_graph *g = s->model->graph;
    ember_status st = EMBER_OK;
    if (outputs)
        for (int i = 0; i < n_outputs; i++) memset(&outputs[i], 0, sizeof outputs[i]);
    if (n_inputs != g->n_inputs || (n_inputs && !inputs)) {
        st = ember_error(EMBER_E_INVALID_ARG, "the model takes %d inputs, got %d", g->n_inputs, n_inputs);
        goto fail;
    }
    if (n_outputs != g->n_outputs || (n_outputs && !outputs)) {
        st = ember_error(EMBER_E_INVALID_ARG, "the model has %d outputs, %d requested", g->n_outputs, n_outputs);
        goto fail;
    }
    int64_t *sym_vals = malloc(sizeof(int64_t) * (size_t)(g->n_symbols + 1));
    ember_op_tensor *in = calloc((size_t)n_inputs + 1, sizeof *in);
    ember_op_tensor **pin = calloc((size_t)n_inputs + 1, sizeof *pin);
    ember_op_tensor *out = calloc((size_t)n_outputs + 1, sizeof *out);
    if (!sym_vals || !in || !pin || !out) {
        st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
        goto cleanup;
    }
    for (int i = 0; i < g->n_symbols; i++) sym_vals[i] = -1;
    for (int i = 0; i < n_inputs; i++) {
        st = check_input(g, i, &inputs[i], sym_vals);
        if (st != EMBER_OK) goto cleanup;
        in[i].dtype = inputs[i].dtype;
        in[i].rank = inputs[i].rank;
        memcpy(in[i].dims, inputs[i].dims, sizeof in[i].dims);
        for (int k = 0; k < EMBER_MAX_RANK; k++) in[i].syms[k] = -1;
        in[i].data = inputs[i].data;
        in[i].nbytes = inputs[i].nbytes;
        pin[i] = &in[i];
    }
    st = ember_interp_run(g, NULL, pin, n_inputs, out, n_outputs);
    if (st == EMBER_OK)
        for (int o = 0; o < n_outputs; o++) {
            outputs[o].dtype = out[o].dtype;
            outputs[o].rank = out[o].rank;
            memcpy(outputs[o].dims, out[o].dims, sizeof outputs[o].dims);
            outputs[o].data = out[o].data;
            outputs[o].nbytes = out[o].nbytes;
        }
cleanup:
    free(sym_vals);
    free(in);
    free(pin);
    free(out);
fail:
    if (st != EMBER_OK) {
        pthread_mutex_lock(&s->lock);
        snprintf(s->last_error, sizeof s->last_error, "%s", ember_last_error());
        pthread_mutex_unlock(&s->lock);
    }
    return st;
}

void ember_tensor_release(ember_tensor *t)
{
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}
