#include "tensor_io.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "importers/onnx.h"
#include "npy.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void cli_tensors_free(cli_tensors *l)
{
    for (int i = 0; i < l->n; i++) {
        ember_tensor_release(&l->t[i]);
        free(l->names[i]);
    }
    free(l->t);
    free(l->names);
    memset(l, 0, sizeof *l);
}

int cli_tensors_push(cli_tensors *l, ember_tensor *t, char *name, char *err, size_t errlen)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        ember_tensor *nt = realloc(l->t, (size_t)cap * sizeof *nt);
        if (nt) l->t = nt;
        char **nn = realloc(l->names, (size_t)cap * sizeof *nn);
        if (nn) l->names = nn;
        if (!nt || !nn) {
            ember_tensor_release(t);
            free(name);
            return fail(err, errlen, "out of memory");
        }
        l->cap = cap;
    }
    l->t[l->n] = *t;
    l->names[l->n] = name;
    l->n++;
    memset(t, 0, sizeof *t);
    return 0;
}

int cli_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return fail(err, errlen, "'%s' is a directory, not a file", path);
    }
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return fail(err, errlen, "'%s': out of memory", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return fail(err, errlen, "cannot read '%s'", path);
    }
    *data = buf;
    *size = n;
    return 0;
}

int cli_write_file(const char *path, const void *data, size_t size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) return fail(err, errlen, "cannot create '%s': %s", path, strerror(errno));
    size_t w = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || w != size) return fail(err, errlen, "cannot write '%s'", path);
    return 0;
}

static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

int cli_pb_is_tensor(const void *data, size_t size)
{
    const unsigned char *p = data, *end = p + size;
    bool tensor_only = false, payload_msg = false, printable_name = false;
    uint64_t elem_type = 0;
    while (p < end) {
        uint64_t key, v = 0;
        if (read_varint(&p, end, &key)) return -1;
        unsigned field = (unsigned)(key >> 3), wt = key & 7;
        const unsigned char *payload = p;
        switch (wt) {
        case 0: if (read_varint(&p, end, &v)) return -1; break;
        case 1: if (end - p < 8) return -1; p += 8; break;
        case 5: if (end - p < 4) return -1; p += 4; break;
        case 2:
            if (read_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            payload = p;
            p += v;
            break;
        default: return -1;
        }
        /* fields only a TensorProto has (name, raw_data, double/uint64 data, doc,
         * external data), or unpacked dims/data */
        if (field >= 8 || (field == 1 && wt == 0) || (field >= 4 && field <= 7 && wt != 2))
            tensor_only = true;
        if (field == 2 && wt == 0) elem_type = v;
        if (field >= 3 && field <= 7 && wt == 2) payload_msg = true;
        if (field == 1 && wt == 2) {
            printable_name = true;
            for (const unsigned char *q = payload; q < p; q++)
                if (*q < 0x20 || *q == 0x7f) printable_name = false;
        }
    }
    if (tensor_only) return 1;
    if ((payload_msg || printable_name) && elem_type <= 5) return 0;
    return 1;
}

int cli_load_tensor(const char *path, ember_tensor *t, char **name, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (name) *name = NULL;
    void *data;
    size_t size;
    if (cli_read_file(path, &data, &size, err, errlen)) return -1;
    int rc = 0;
    if (npy_is_npy(data, size)) {
        char e[CLI_ERRLEN];
        if (npy_decode(data, size, t, e, sizeof e)) rc = fail(err, errlen, "'%s': %s", path, e);
    } else {
        int kind = cli_pb_is_tensor(data, size);
        if (kind < 0) {
            rc = fail(err, errlen, "'%s' is neither an .npy file nor a TensorProto .pb", path);
        } else if (kind == 0) {
            rc = fail(err, errlen, "'%s' holds a sequence or optional (SequenceProto/OptionalProto), not a tensor", path);
        } else if (ember_onnx_read_tensor(data, size, t, name) != EMBER_OK) {
            rc = fail(err, errlen, "'%s': %s", path, ember_last_error());
        }
    }
    free(data);
    return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int cli_save_tensor(const char *path, const ember_tensor *t, const char *name, char *err,
                    size_t errlen)
{
    if (ends_with(path, ".npy")) {
        char e[CLI_ERRLEN];
        if (npy_write_file(path, t, e, sizeof e)) return fail(err, errlen, "'%s': %s", path, e);
        return 0;
    }
    void *buf;
    size_t size;
    if (ember_onnx_write_tensor(t, name, &buf, &size) != EMBER_OK)
        return fail(err, errlen, "cannot encode '%s': %s", path, ember_last_error());
    int rc = cli_write_file(path, buf, size, err, errlen);
    free(buf);
    return rc;
}

int cli_load_dataset(const char *dir, const char *prefix, cli_tensors *out, char *err,
                     size_t errlen)
{
    for (int i = 0;; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, i);
        struct stat st;
        if (stat(path, &st) != 0) break;
        ember_tensor t;
        char *name;
        if (cli_load_tensor(path, &t, &name, err, errlen)) return -1;
        if (cli_tensors_push(out, &t, name, err, errlen)) return -1;
    }
    return 0;
}

void cli_rng_seed(cli_rng *r, uint64_t seed)
{
    r->state = seed;
    r->have_spare = false;
}

uint64_t cli_rng_next(cli_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(cli_rng *r) /* (0, 1]: never 0 so log() is finite */
{
    return ((cli_rng_next(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

double cli_rng_normal(cli_rng *r)
{
    if (r->have_spare) {
        r->have_spare = false;
        return r->spare;
    }
    double u = rng_unit(r), v = rng_unit(r);
    double m = sqrt(-2.0 * log(u));
    r->spare = m * sin(2 * M_PI * v);
    r->have_spare = true;
    return m * cos(2 * M_PI * v);
}

int cli_random_input(const ember_io_info *io, cli_rng *r, int64_t lo, int64_t hi,
                     ember_tensor *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (io->rank < 0)
        return fail(err, errlen, "input '%s' has an unknown rank: give it with -i %s=FILE", io->name, io->name);
    for (int d = 0; d < io->rank; d++)
        if (io->dims[d] < 0) {
            if (io->dim_names[d])
                return fail(err, errlen, "input '%s' has symbolic dimension '%s': give the input with -i %s=FILE",
                            io->name, io->dim_names[d], io->name);
            return fail(err, errlen, "input '%s' has an unknown dimension %d: give the input with -i %s=FILE",
                        io->name, d, io->name);
        }
    size_t esz = ember_dtype_size(io->dtype);
    if (!esz || io->dtype == EMBER_DT_STRING)
        return fail(err, errlen, "input '%s': cannot generate random values of type %s; give it with -i",
                    io->name, ember_dtype_name(io->dtype));
    t->dtype = io->dtype;
    t->rank = io->rank;
    memcpy(t->dims, io->dims, sizeof t->dims);
    size_t n = cli_numel(t);
    if (n == SIZE_MAX || n > SIZE_MAX / esz) return fail(err, errlen, "input '%s' is too large", io->name);
    t->nbytes = n * esz;
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->data) return fail(err, errlen, "input '%s': out of memory (%zu bytes)", io->name, t->nbytes);
    uint64_t span = (uint64_t)(hi - lo);
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = (unsigned char *)t->data + i * esz;
        double g;
        int64_t k = lo + (int64_t)(span ? cli_rng_next(r) % span : 0);
        switch (io->dtype) {
        case EMBER_DT_FLOAT: { float f = (float)cli_rng_normal(r); memcpy(p, &f, 4); break; }
        case EMBER_DT_DOUBLE: g = cli_rng_normal(r); memcpy(p, &g, 8); break;
        case EMBER_DT_FLOAT16: { uint16_t h = cli_float_to_half((float)cli_rng_normal(r)); memcpy(p, &h, 2); break; }
        case EMBER_DT_BFLOAT16: {
            float f = (float)cli_rng_normal(r);
            uint32_t b;
            memcpy(&b, &f, 4);
            uint16_t h = (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
            memcpy(p, &h, 2);
            break;
        }
        case EMBER_DT_BOOL: *p = (unsigned char)(cli_rng_next(r) & 1); break;
        case EMBER_DT_UINT8: case EMBER_DT_INT8: *p = (unsigned char)k; break;
        case EMBER_DT_UINT16: case EMBER_DT_INT16: { uint16_t v = (uint16_t)k; memcpy(p, &v, 2); break; }
        case EMBER_DT_UINT32: case EMBER_DT_INT32: { uint32_t v = (uint32_t)k; memcpy(p, &v, 4); break; }
        case EMBER_DT_UINT64: case EMBER_DT_INT64: memcpy(p, &k, 8); break;
        default: break;
        }
    }
    return 0;
}

static void fmt_dims(int rank, const int64_t *dims, const char *const *names, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && len < n; d++) {
        if (dims[d] >= 0)
            len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)dims[d]);
        else
            len += (size_t)snprintf(buf + len, n - len, "%s%s", d ? "," : "",
                                    names && names[d] ? names[d] : "?");
    }
    if (len < n) snprintf(buf + len, n - len, "]");
}

int cli_check_input(const ember_io_info *io, const ember_tensor *t, char *err, size_t errlen)
{
    if (io->dtype != EMBER_DT_UNDEFINED && t->dtype != io->dtype)
        return fail(err, errlen, "input '%s': got %s data, the model expects %s", io->name,
                    ember_dtype_name(t->dtype), ember_dtype_name(io->dtype));
    bool ok = io->rank < 0 || io->rank == t->rank;
    for (int d = 0; ok && io->rank >= 0 && d < io->rank; d++)
        ok = io->dims[d] < 0 || io->dims[d] == t->dims[d];
    if (!ok) {
        char a[256], b[256];
        fmt_dims(t->rank, t->dims, NULL, a, sizeof a);
        fmt_dims(io->rank, io->dims, io->dim_names, b, sizeof b);
        return fail(err, errlen, "input '%s': got shape %s, the model expects %s", io->name, a, b);
    }
    return 0;
}

int cli_bind_inputs(const ember_model *m, const cli_tensors *given, ember_tensor *bound,
                    bool *have, char *err, size_t errlen)
{
    int n = ember_model_num_inputs(m);
    for (int i = 0; i < n; i++) have[i] = false;
    bool by_name = given->n > 0;
    for (int g = 0; g < given->n && by_name; g++) {
        bool found = false;
        for (int i = 0; i < n && !found && given->names[g]; i++) {
            ember_io_info io;
            if (ember_model_input_info(m, i, &io) == EMBER_OK && strcmp(io.name, given->names[g]) == 0)
                found = true;
        }
        by_name = found;
    }
    if (!by_name && given->n > n)
        return fail(err, errlen, "%d input tensors given, but the model has only %d inputs", given->n, n);
    for (int g = 0; g < given->n; g++) {
        int slot = g;
        if (by_name) {
            for (int i = 0; i < n; i++) {
                ember_io_info io;
                if (ember_model_input_info(m, i, &io) == EMBER_OK && strcmp(io.name, given->names[g]) == 0)
                    slot = i;
            }
        }
        if (have[slot]) {
            ember_io_info io;
            ember_model_input_info(m, slot, &io);
            return fail(err, errlen, "input '%s' is given twice", io.name ? io.name : "?");
        }
        bound[slot] = given->t[g];
        have[slot] = true;
    }
    return 0;
}

int cli_compare_outputs(const ember_model *m, const ember_tensor *outs, int n_outs,
                        const cli_tensors *refs, double rtol, double atol,
                        cli_out_result *res, bool *all_ok, char *err, size_t errlen)
{
    *all_ok = true;
    bool by_name = refs->n > 0;
    int slot_of[64];
    if (refs->n > 64) return fail(err, errlen, "too many reference outputs (%d)", refs->n);
    for (int r = 0; r < refs->n; r++) {
        slot_of[r] = -1;
        for (int i = 0; i < n_outs && refs->names[r]; i++) {
            ember_io_info io;
            if (ember_model_output_info(m, i, &io) == EMBER_OK && strcmp(io.name, refs->names[r]) == 0)
                slot_of[r] = i;
        }
        if (slot_of[r] < 0) by_name = false;
    }
    if (!by_name) {
        if (refs->n != n_outs)
            return fail(err, errlen, "the model has %d outputs but %d reference outputs were given", n_outs, refs->n);
        for (int r = 0; r < refs->n; r++) slot_of[r] = r;
    }
    for (int r = 0; r < refs->n; r++) {
        ember_io_info io;
        const char *name = refs->names[r];
        if (ember_model_output_info(m, slot_of[r], &io) == EMBER_OK) name = io.name;
        snprintf(res[r].name, sizeof res[r].name, "%s", name ? name : "?");
        cli_compare(&outs[slot_of[r]], &refs->t[r], rtol, atol, &res[r].cmp);
        if (!res[r].cmp.ok) *all_ok = false;
    }
    return 0;
}

void cli_print_tensor_summary(const char *name, const ember_tensor *t, int max)
{
    char shape[256];
    fmt_dims(t->rank, t->dims, NULL, shape, sizeof shape);
    printf("%s: %s %s", name, ember_dtype_name(t->dtype), shape);
    size_t n = cli_numel(t);
    if (n == SIZE_MAX || !(cli_dtype_is_float(t->dtype) || cli_dtype_is_int(t->dtype))) {
        printf("\n");
        return;
    }
    printf(" =");
    for (size_t i = 0; i < n && i < (size_t)max; i++) {
        double v = cli_elem_f64(t, i);
        if (cli_dtype_is_float(t->dtype)) printf(" %.6g", v);
        else printf(" %.0f", v);
    }
    if (n > (size_t)max) printf(" ... (%zu values)", n);
    printf("\n");
}
