/* The public API: models and sessions. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "interp.h"
#include "model.h"
#include "status.h"

static ember_status load_bytes(const void *data, size_t size, const char *base_dir,
                               const char *what, ember_model **out)
{
    ember_model *m = calloc(1, sizeof *m);
    if (!m) return ember_error(EMBER_E_NO_MEMORY, "out of memory loading %s", what);
    pthread_mutex_init(&m->hash_lock, NULL);
    ember_status s = ember_onnx_import(data, size, base_dir, &m->graph, &m->meta);
    if (s == EMBER_OK) s = ember_graph_infer(m->graph);
    if (s == EMBER_OK) {
        m->bytes = malloc(size ? size : 1);
        m->base_dir = base_dir ? strdup(base_dir) : NULL;
        if (!m->bytes || (base_dir && !m->base_dir))
            s = ember_error(EMBER_E_NO_MEMORY, "out of memory keeping the model");
        else {
            memcpy(m->bytes, data, size);
            m->n_bytes = size;
        }
    }
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
    struct stat st_buf;
    /* Directories open fine for reading on Linux and then report absurd sizes. */
    if (fstat(fileno(f), &st_buf) != 0 || !S_ISREG(st_buf.st_mode)) {
        s = ember_error(EMBER_E_IO, "cannot read '%s': not a regular file", path);
        goto done;
    }
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
    free(m->bytes);
    free(m->base_dir);
    pthread_mutex_destroy(&m->hash_lock);
    free(m);
}

ember_status ember_model_hash(const ember_model *cm, uint64_t out[2])
{
    ember_model *m = (ember_model *)cm; /* the memo only; the model's meaning is unchanged */
    pthread_mutex_lock(&m->hash_lock);
    if (!m->hashed) {
        ember_hasher h;
        ember_hasher_init(&h, 0);
        ember_hasher_add(&h, m->bytes, m->n_bytes);
        ember_hasher_final(&h, m->hash);
        m->hashed = 1;
    }
    out[0] = m->hash[0], out[1] = m->hash[1];
    pthread_mutex_unlock(&m->hash_lock);
    return EMBER_OK;
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

void ember_tensor_release(ember_tensor *t)
{
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}
