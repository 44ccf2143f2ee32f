/* TensorProto decoding (inline typed fields, raw_data, external files) and the
 * test-data .pb reader/writer. Assumes a little-endian host, as ONNX raw_data is. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_internal.h"

int onnx_dtype_supported(int64_t t)
{
    switch (t) {
    case EMBER_DT_FLOAT: case EMBER_DT_UINT8: case EMBER_DT_INT8: case EMBER_DT_UINT16:
    case EMBER_DT_INT16: case EMBER_DT_INT32: case EMBER_DT_INT64: case EMBER_DT_BOOL:
    case EMBER_DT_FLOAT16: case EMBER_DT_DOUBLE: case EMBER_DT_UINT32: case EMBER_DT_UINT64:
    case EMBER_DT_BFLOAT16:
        return 1;
    default:
        return 0;
    }
}

const char *onnx_dtype_label(int64_t t)
{
    static const char *const names[] = {
        "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
        "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
        "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
        "float8e5m2fnuz", "uint4", "int4", "float4e2m1"};
    if (t >= 0 && t < (int64_t)(sizeof names / sizeof names[0])) return names[t];
    return "unknown";
}

/* Strict decimal, as external_data's offset/length are written. */
static int parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s) return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

/* The path must stay inside base_dir on its face (relative, no "..") and after symlinks
 * are resolved (realpath under realpath(base_dir)). */
static ember_status open_external(const char *label, const char *base_dir, const char *loc,
                                  int *fd_out, uint64_t *file_size)
{
    *fd_out = -1;
    if (!base_dir)
        return ember_error(EMBER_E_INVALID_ARG,
                           "%s keeps its data in external file '%s', but the model was not "
                           "loaded from a folder (no base folder given)",
                           label, loc);
    if (loc[0] == '/' || loc[0] == '\\' || (loc[0] && loc[1] == ':'))
        return ember_error(EMBER_E_INVALID_MODEL,
                           "%s: external data path '%s' is absolute; only paths inside the "
                           "model's folder are allowed",
                           label, loc);
    for (const char *p = loc; *p;) {
        const char *e = p;
        while (*e && *e != '/' && *e != '\\') e++;
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return ember_error(EMBER_E_INVALID_MODEL,
                               "%s: external data path '%s' contains '..'; only paths inside "
                               "the model's folder are allowed",
                               label, loc);
        p = *e ? e + 1 : e;
    }
    ember_status st = EMBER_OK;
    char *base_real = NULL, *file_real = NULL;
    size_t bl = strlen(base_dir), ll = strlen(loc);
    char *joined = malloc(bl + ll + 2);
    if (!joined) return ember_error(EMBER_E_NO_MEMORY, "out of memory");
    memcpy(joined, base_dir, bl);
    joined[bl] = '/';
    memcpy(joined + bl + 1, loc, ll + 1);
    base_real = realpath(base_dir, NULL);
    if (!base_real) {
        st = ember_error(EMBER_E_IO, "%s: cannot resolve the model folder '%s': %s", label,
                         base_dir, strerror(errno));
        goto out;
    }
    file_real = realpath(joined, NULL);
    if (!file_real) {
        st = ember_error(EMBER_E_IO, "%s: external data file '%s' %s", label, joined,
                         errno == ENOENT ? "not found" : strerror(errno));
        goto out;
    }
    size_t rl = strlen(base_real);
    int inside = strncmp(file_real, base_real, rl) == 0 &&
                 (file_real[rl] == '/' || (rl == 1 && base_real[0] == '/'));
    if (!inside) {
        st = ember_error(EMBER_E_INVALID_MODEL,
                         "%s: external data file '%s' resolves to '%s', outside the model's "
                         "folder",
                         label, loc, file_real);
        goto out;
    }
    int fd = open(file_real, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        st = ember_error(EMBER_E_IO, "%s: cannot open external data file '%s': %s", label,
                         joined, strerror(errno));
        if (fd >= 0) close(fd);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        st = ember_error(EMBER_E_IO, "%s: external data '%s' is not a regular file", label,
                         joined);
        goto out;
    }
    *fd_out = fd;
    *file_size = (uint64_t)sb.st_size;
out:
    free(joined);
    free(base_real);
    free(file_real);
    return st;
}

static ember_status read_all(int fd, void *dst, size_t n, uint64_t offset, const char *label,
                             const char *loc)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)dst + done, n - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return ember_error(EMBER_E_IO, "%s: reading external data file '%s' failed: %s",
                               label, loc, r < 0 ? strerror(errno) : "unexpected end of file");
        done += (size_t)r;
    }
    return EMBER_OK;
}

_Thread_local uint64_t onnx_external_id;

/* Folds what identifies the bytes just read into onnx_external_id: a changed file gets a
 * new model identity (and compile-cache key) even though the .onnx bytes stay the same. */
static void note_external(int fd, uint64_t offset, size_t nbytes)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) return;
    uint64_t f[7] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino, (uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                     (uint64_t)sb.st_mtim.tv_nsec, offset, nbytes};
    uint64_t h = onnx_external_id ^ 0x6a09e667f3bcc909ull;
    for (int i = 0; i < 7; i++) {
        h = (h ^ f[i]) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    onnx_external_id = h ? h : 1;
}

static ember_status decode_external(const Onnx__TensorProto *tp, const char *label,
                                    const char *base_dir, size_t nbytes, const onnx_alloc *al,
                                    void **data)
{
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key) continue;
        if (strcmp(e->key, "location") == 0) loc = e->value;
        else if (strcmp(e->key, "offset") == 0) off_s = e->value;
        else if (strcmp(e->key, "length") == 0) len_s = e->value;
    }
    if (!loc || !*loc)
        return ember_error(EMBER_E_INVALID_MODEL,
                           "%s is marked as external data but has no 'location'", label);
    uint64_t offset = 0, length = nbytes;
    if (off_s && !parse_size(off_s, &offset))
        return ember_error(EMBER_E_INVALID_MODEL, "%s: external data offset '%s' is not a number",
                           label, off_s);
    if (len_s && !parse_size(len_s, &length))
        return ember_error(EMBER_E_INVALID_MODEL, "%s: external data length '%s' is not a number",
                           label, len_s);
    if (length != nbytes)
        return ember_error(EMBER_E_INVALID_MODEL,
                           "%s: external data length is %llu bytes, but its shape and type need "
                           "%zu",
                           label, (unsigned long long)length, nbytes);
    int fd;
    uint64_t fsize = 0;
    TRY(open_external(label, base_dir, loc, &fd, &fsize));
    if (offset > fsize || nbytes > fsize - offset) {
        close(fd);
        return ember_error(EMBER_E_INVALID_MODEL,
                           "%s: external data (offset %llu, %zu bytes) lies beyond the end of "
                           "'%s' (%llu bytes)",
                           label, (unsigned long long)offset, nbytes, loc,
                           (unsigned long long)fsize);
    }
    void *p = al->alloc(al->ctx, nbytes ? nbytes : 1);
    if (!p) {
        close(fd);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory loading %s (%zu bytes)", label,
                           nbytes);
    }
    ember_status st = read_all(fd, p, nbytes, offset, label, loc);
    if (st == EMBER_OK) note_external(fd, offset, nbytes);
    close(fd);
    if (st != EMBER_OK) {
        if (al->release) al->release(al->ctx, p);
        return st;
    }
    *data = p;
    return EMBER_OK;
}

/* Which typed field holds elements of each dtype, per onnx.proto. */
static size_t typed_count(const Onnx__TensorProto *tp, int64_t dt, const char **field)
{
    switch (dt) {
    case EMBER_DT_FLOAT: *field = "float_data"; return tp->n_float_data;
    case EMBER_DT_INT64: *field = "int64_data"; return tp->n_int64_data;
    case EMBER_DT_DOUBLE: *field = "double_data"; return tp->n_double_data;
    case EMBER_DT_UINT32:
    case EMBER_DT_UINT64: *field = "uint64_data"; return tp->n_uint64_data;
    default: *field = "int32_data"; return tp->n_int32_data;
    }
}

static void copy_typed(const Onnx__TensorProto *tp, ember_dtype dt, void *dst, size_t n)
{
    switch (dt) {
    case EMBER_DT_FLOAT: memcpy(dst, tp->float_data, n * 4); break;
    case EMBER_DT_INT32: memcpy(dst, tp->int32_data, n * 4); break;
    case EMBER_DT_INT64: memcpy(dst, tp->int64_data, n * 8); break;
    case EMBER_DT_DOUBLE: memcpy(dst, tp->double_data, n * 8); break;
    case EMBER_DT_UINT64: memcpy(dst, tp->uint64_data, n * 8); break;
    case EMBER_DT_UINT32:
        for (size_t i = 0; i < n; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
        break;
    case EMBER_DT_INT16:
    case EMBER_DT_UINT16:
    case EMBER_DT_FLOAT16:
    case EMBER_DT_BFLOAT16:
        for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
        break;
    case EMBER_DT_BOOL:
        for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
        break;
    default: /* int8, uint8 */
        for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
        break;
    }
}

ember_status onnx_decode_tensor(const Onnx__TensorProto *tp, const char *label,
                                const char *base_dir, const onnx_alloc *al, ember_const_tensor *t)
{
    return onnx_decode_tensor_raw(tp, label, base_dir, al, NULL, t);
}

ember_status onnx_decode_tensor_raw(const Onnx__TensorProto *tp, const char *label, const char *base_dir,
                                    const onnx_alloc *al, const onnx_raw_span *raw, ember_const_tensor *t)
{
    memset(t, 0, sizeof *t);
    int64_t odt = tp->has_data_type ? tp->data_type : 0;
    if (odt == 0) return ember_error(EMBER_E_INVALID_MODEL, "%s has no data type", label);
    if (odt == EMBER_DT_STRING)
        return ember_error(EMBER_E_UNSUPPORTED, "%s is a string tensor; Ember does not support "
                           "strings", label);
    if (!onnx_dtype_supported(odt))
        return ember_error(EMBER_E_UNSUPPORTED, "%s has element type %s (%lld), which Ember does "
                           "not support", label, onnx_dtype_label(odt), (long long)odt);
    ember_dtype dt = (ember_dtype)odt;
    if (tp->n_dims > EMBER_MAX_RANK)
        return ember_error(EMBER_E_UNSUPPORTED, "%s has rank %zu; Ember supports up to %d",
                           label, tp->n_dims, EMBER_MAX_RANK);
    int64_t numel = 1;
    int zero = 0;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return ember_error(EMBER_E_INVALID_MODEL, "%s has negative dimension %lld (axis %zu)",
                               label, (long long)tp->dims[i], i);
        if (tp->dims[i] == 0) zero = 1;
    }
    size_t esize = ember_dtype_size(dt);
    if (zero) {
        numel = 0;
    } else {
        for (size_t i = 0; i < tp->n_dims; i++) {
            if (numel > INT64_MAX / tp->dims[i] ||
                (uint64_t)(numel * tp->dims[i]) > SIZE_MAX / esize)
                return ember_error(EMBER_E_INVALID_MODEL,
                                   "%s: its dimensions multiply to more elements than fit in "
                                   "memory",
                                   label);
            numel *= tp->dims[i];
        }
    }
    size_t nbytes = (size_t)numel * esize;
    if (tp->segment)
        return ember_error(EMBER_E_UNSUPPORTED, "%s is a segment of a larger tensor, which Ember "
                           "does not support", label);
    t->dtype = dt;
    t->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) t->dims[i] = tp->dims[i];
    t->nbytes = nbytes;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return decode_external(tp, label, base_dir, nbytes, al, &t->data);
    if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
        return ember_error(EMBER_E_INVALID_MODEL, "%s has unknown data_location %d", label,
                           (int)tp->data_location);
    size_t have = 0;
    const char *field = "raw_data";
    int has_raw = raw || tp->has_raw_data;
    const uint8_t *raw_data = raw ? raw->data : tp->raw_data.data;
    size_t raw_len = raw ? raw->len : tp->raw_data.len;
    if (has_raw) {
        if (raw_len != nbytes)
            return ember_error(EMBER_E_INVALID_MODEL,
                               "%s has %zu bytes of raw_data, but %lld %s elements need %zu",
                               label, raw_len, (long long)numel,
                               ember_dtype_name(dt), nbytes);
    } else {
        have = typed_count(tp, dt, &field);
        if (have != (size_t)numel) {
            if (have == 0 && numel > 0)
                return ember_error(EMBER_E_INVALID_MODEL,
                                   "%s has no data for its %lld %s elements (expected raw_data "
                                   "or %s)",
                                   label, (long long)numel, ember_dtype_name(dt), field);
            return ember_error(EMBER_E_INVALID_MODEL, "%s has %zu values in %s, but its shape "
                               "needs %lld", label, have, field, (long long)numel);
        }
    }
    void *p = al->alloc(al->ctx, nbytes ? nbytes : 1);
    if (!p)
        return ember_error(EMBER_E_NO_MEMORY, "out of memory decoding %s (%zu bytes)", label,
                           nbytes);
    if (has_raw) {
        if (nbytes) memcpy(p, raw_data, nbytes);
    } else if (numel > 0) {
        copy_typed(tp, dt, p, (size_t)numel);
    }
    t->data = p;
    return EMBER_OK;
}

static void *heap_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n);
}

static void heap_release(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

ember_status ember_onnx_read_tensor(const void *data, size_t size, ember_tensor *t,
                                    char **name_out)
{
    if (name_out) *name_out = NULL;
    if (!t) return ember_error(EMBER_E_INVALID_ARG, "ember_onnx_read_tensor: no output tensor");
    memset(t, 0, sizeof *t);
    ProtobufCMessage *m;
    TRY(onnx_unpack(&onnx__tensor_proto__descriptor, data, size, &m));
    const Onnx__TensorProto *tp = (const Onnx__TensorProto *)m;
    char label[300];
    snprintf(label, sizeof label, "tensor '%.256s'", tp->name ? tp->name : "");
    onnx_alloc al = {heap_alloc, heap_release, NULL};
    ember_const_tensor ct;
    ember_status st = onnx_decode_tensor(tp, label, NULL, &al, &ct);
    char *name = NULL;
    if (st == EMBER_OK && name_out && tp->name) {
        name = strdup(tp->name);
        if (!name) {
            free(ct.data);
            st = ember_error(EMBER_E_NO_MEMORY, "out of memory");
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    if (st != EMBER_OK) return st;
    t->dtype = ct.dtype;
    t->rank = ct.rank;
    memcpy(t->dims, ct.dims, sizeof t->dims);
    t->data = ct.data;
    t->nbytes = ct.nbytes;
    if (name_out) *name_out = name;
    return EMBER_OK;
}

ember_status ember_onnx_write_tensor(const ember_tensor *t, const char *name, void **buf,
                                     size_t *size)
{
    if (buf) *buf = NULL;
    if (size) *size = 0;
    if (!t || !buf || !size)
        return ember_error(EMBER_E_INVALID_ARG, "ember_onnx_write_tensor: NULL argument");
    if (!onnx_dtype_supported(t->dtype))
        return ember_error(EMBER_E_INVALID_ARG, "cannot write a tensor of type %s",
                           ember_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > EMBER_MAX_RANK)
        return ember_error(EMBER_E_INVALID_ARG, "cannot write a tensor of rank %d", t->rank);
    uint64_t numel = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return ember_error(EMBER_E_INVALID_ARG, "tensor has negative dimension %lld",
                               (long long)t->dims[i]);
        if (t->dims[i] && numel > UINT64_MAX / (uint64_t)t->dims[i])
            return ember_error(EMBER_E_INVALID_ARG, "tensor dimensions overflow");
        numel *= (uint64_t)t->dims[i];
    }
    size_t es = ember_dtype_size(t->dtype);
    if (numel > SIZE_MAX / es || numel * es != t->nbytes)
        return ember_error(EMBER_E_INVALID_ARG,
                           "tensor holds %zu bytes, but its shape and type need %llu",
                           t->nbytes, (unsigned long long)(numel * es));
    if (t->nbytes && !t->data) return ember_error(EMBER_E_INVALID_ARG, "tensor has no data");
    int64_t dims[EMBER_MAX_RANK];
    for (int i = 0; i < t->rank; i++) dims[i] = t->dims[i];
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = (int32_t)t->dtype;
    tp.has_raw_data = 1;
    tp.raw_data.len = t->nbytes;
    static uint8_t none[1];
    tp.raw_data.data = t->data ? t->data : none;
    tp.name = (char *)name; /* pack only reads it */
    size_t n = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) return ember_error(EMBER_E_NO_MEMORY, "out of memory encoding a tensor");
    onnx__tensor_proto__pack(&tp, out);
    *buf = out;
    *size = n;
    return EMBER_OK;
}
