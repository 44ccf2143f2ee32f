/* The public API: models and sessions. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older kernels refuse it, which costs nothing */
#endif
#include "interp.h"
#include "model.h"
#include "status.h"

/* The whole pages of the model's file mapping go back to the page cache: the file stays
 * mapped (a backend re-imports from it) but costs no memory until it is read again. */
static void give_back_bytes(const ember_model *m)
{
    if (m->mapped && m->n_bytes) madvise(m->bytes, m->n_bytes, MADV_DONTNEED);
}

/* m->bytes holds the model (owned: mapped or malloc'd); imports it. */
static ember_status load_bytes(ember_model *m, const char *base_dir, const char *what, ember_model **out)
{
    ember_status s = EMBER_OK;
    m->base_dir = base_dir ? strdup(base_dir) : NULL;
    if (base_dir && !m->base_dir) s = ember_error(EMBER_E_NO_MEMORY, "out of memory keeping the model");
    if (s == EMBER_OK) s = ember_model_reimport(m, &m->graph, &m->meta);
    if (s == EMBER_OK) s = ember_graph_infer(m->graph);
    if (s != EMBER_OK) {
        ember_error_prefix(s, "%s", what);
        ember_model_free(m);
        return s;
    }
    *out = m;
    return EMBER_OK;
}

static ember_model *new_model(const char *what)
{
    ember_model *m = calloc(1, sizeof *m);
    if (!m) {
        ember_error(EMBER_E_NO_MEMORY, "out of memory loading %s", what);
        return NULL;
    }
    pthread_mutex_init(&m->hash_lock, NULL);
    return m;
}

ember_status ember_model_reimport(const ember_model *m, ember_graph **g, ember_model_meta *meta)
{
    ember_model_meta tmp;
    ember_status s = ember_onnx_import_ex(m->bytes, m->n_bytes, m->base_dir, m->mapped ? EMBER_ONNX_DROP_SOURCE : 0, g,
                                          meta ? meta : &tmp);
    give_back_bytes(m);
    return s;
}

ember_status ember_model_load(const char *path, ember_model **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load: model pointer is NULL");
    *out = NULL;
    if (!path) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ember_error(EMBER_E_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st_buf;
    /* Directories open fine for reading on Linux and then report absurd sizes. */
    if (fstat(fd, &st_buf) != 0 || !S_ISREG(st_buf.st_mode) || st_buf.st_size < 0) {
        close(fd);
        return ember_error(EMBER_E_IO, "cannot read '%s': not a regular file", path);
    }
    ember_model *m = new_model(path);
    if (!m) {
        close(fd);
        return EMBER_E_NO_MEMORY;
    }
    size_t size = (size_t)st_buf.st_size;
    /* Mapped, not read: the weights are copied once, straight from the page cache, and
     * the mapping's pages are given back after each import. */
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (map != MAP_FAILED) {
        m->bytes = map;
        m->mapped = 1;
    } else {
        m->bytes = malloc(size ? size : 1);
        size_t done = 0;
        while (m->bytes && done < size) {
            ssize_t r = read(fd, (char *)m->bytes + done, size - done);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            done += (size_t)r;
        }
        if (!m->bytes || done != size) {
            ember_status s = m->bytes ? ember_error(EMBER_E_IO, "cannot read '%s': %s", path, strerror(errno))
                                      : ember_error(EMBER_E_NO_MEMORY, "out of memory reading '%s' (%zu bytes)",
                                                    path, size);
            close(fd);
            ember_model_free(m);
            return s;
        }
    }
    m->n_bytes = size;
    close(fd);
    /* External data resolves inside the model's folder only. */
    char *dir = strdup(path);
    if (!dir) {
        ember_model_free(m);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash) slash == dir ? (void)(dir[1] = '\0') : (void)(*slash = '\0');
    else strcpy(dir, ".");
    ember_status s = load_bytes(m, dir, path, out);
    free(dir);
    return s;
}

ember_status ember_model_load_memory(const void *data, size_t size, const char *base_dir,
                                     ember_model **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load_memory: model pointer is NULL");
    *out = NULL;
    if (!data && size) return ember_error(EMBER_E_INVALID_ARG, "ember_model_load_memory: data is NULL");
    ember_model *m = new_model("model in memory");
    if (!m) return EMBER_E_NO_MEMORY;
    m->bytes = malloc(size ? size : 1);
    if (!m->bytes) {
        ember_model_free(m);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory loading a model of %zu bytes", size);
    }
    if (size) memcpy(m->bytes, data, size);
    m->n_bytes = size;
    return load_bytes(m, base_dir, "model in memory", out);
}

void ember_model_free(ember_model *m)
{
    if (!m) return;
    ember_graph_free(m->graph);
    if (m->mapped) munmap(m->bytes, m->n_bytes);
    else free(m->bytes);
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
        /* In slices, a mapped model's pages given back after each: hashing a large model
         * must not bring it all back into memory. */
        const size_t slice = (size_t)16 << 20;
        for (size_t at = 0; at < m->n_bytes; at += slice) {
            size_t n = m->n_bytes - at < slice ? m->n_bytes - at : slice;
            if (m->mapped) madvise((char *)m->bytes + at, n, MADV_POPULATE_READ); /* one call, not a fault per page */
            ember_hasher_add(&h, (const char *)m->bytes + at, n);
            if (m->mapped) madvise((char *)m->bytes + at, n, MADV_DONTNEED);
        }
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
