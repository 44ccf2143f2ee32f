/* .npy reader/writer. The header is a Python dict literal; we parse just the three keys
 * numpy writes ('descr', 'fortran_order', 'shape') and refuse anything else we cannot
 * represent rather than guessing. This file must not depend on the rest of the CLI: the
 * unit tests link it on its own. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

static const struct {
    const char *descr;
    ember_dtype dt;
    size_t size;
} npy_types[] = {
    {"<f4", EMBER_DT_FLOAT, 4},   {"<f8", EMBER_DT_DOUBLE, 8}, {"<f2", EMBER_DT_FLOAT16, 2},
    {"<i8", EMBER_DT_INT64, 8},   {"<i4", EMBER_DT_INT32, 4},  {"<i2", EMBER_DT_INT16, 2},
    {"|i1", EMBER_DT_INT8, 1},    {"|u1", EMBER_DT_UINT8, 1},  {"<u2", EMBER_DT_UINT16, 2},
    {"<u4", EMBER_DT_UINT32, 4},  {"<u8", EMBER_DT_UINT64, 8}, {"|b1", EMBER_DT_BOOL, 1},
};
#define N_NPY_TYPES (sizeof npy_types / sizeof npy_types[0])

static int fail(char *err, size_t errlen, const char *msg, const char *detail)
{
    if (err && errlen) snprintf(err, errlen, "%s%s%s", msg, detail ? ": " : "", detail ? detail : "");
    return -1;
}

int npy_is_npy(const void *data, size_t size)
{
    return size >= sizeof npy_magic && memcmp(data, npy_magic, sizeof npy_magic) == 0;
}

const char *npy_descr(ember_dtype dt)
{
    for (size_t i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dt == dt) return npy_types[i].descr;
    return NULL;
}

/* Finds the value following 'key': in the header dict; NULL if absent. */
static const char *find_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(h, pat);
    }
    if (!p) return NULL;
    p += strlen(pat);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

static int parse_descr(const char *v, ember_dtype *dt, size_t *esize, char *err, size_t errlen)
{
    char q = *v;
    if (q != '\'' && q != '"') return fail(err, errlen, "npy: 'descr' is not a simple type string", NULL);
    const char *end = strchr(v + 1, q);
    if (!end || end - v - 1 >= 16) return fail(err, errlen, "npy: bad 'descr'", NULL);
    char d[16];
    memcpy(d, v + 1, (size_t)(end - v - 1));
    d[end - v - 1] = '\0';
    /* '=' (native) is little-endian on every host we build for; single bytes have no
     * byte order, so numpy may write either '|' or '<' for them. */
    if (d[0] == '=') d[0] = '<';
    if (d[0] == '>' && strcmp(d + 1, "i1") && strcmp(d + 1, "u1") && strcmp(d + 1, "b1"))
        return fail(err, errlen, "npy: big-endian data is not supported", d);
    for (size_t i = 0; i < N_NPY_TYPES; i++) {
        const char *t = npy_types[i].descr;
        if (strcmp(d, t) == 0 || (strlen(d) == 3 && t[0] == '|' && strcmp(d + 1, t + 1) == 0)) {
            *dt = npy_types[i].dt;
            *esize = npy_types[i].size;
            return 0;
        }
    }
    return fail(err, errlen, "npy: unsupported dtype", d);
}

static int parse_shape(const char *v, ember_tensor *t, char *err, size_t errlen)
{
    if (*v != '(') return fail(err, errlen, "npy: 'shape' is not a tuple", NULL);
    v++;
    t->rank = 0;
    for (;;) {
        while (isspace((unsigned char)*v)) v++;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v)) return fail(err, errlen, "npy: bad 'shape'", NULL);
        errno = 0;
        char *e;
        unsigned long long d = strtoull(v, &e, 10);
        if (errno || d > (unsigned long long)INT64_MAX) return fail(err, errlen, "npy: dimension too large", NULL);
        if (t->rank >= EMBER_MAX_RANK) return fail(err, errlen, "npy: rank exceeds the supported maximum (8)", NULL);
        t->dims[t->rank++] = (int64_t)d;
        v = e;
        while (isspace((unsigned char)*v)) v++;
        if (*v == 'L') v++; /* Python 2 longs */
        if (*v == ',') v++;
        else if (*v != ')') return fail(err, errlen, "npy: bad 'shape'", NULL);
    }
    return 0;
}

int npy_decode(const void *data, size_t size, ember_tensor *t, char *err, size_t errlen)
{
    const unsigned char *p = data;
    memset(t, 0, sizeof *t);
    if (!npy_is_npy(data, size) || size < 10) return fail(err, errlen, "npy: not an .npy file (bad magic)", NULL);
    unsigned major = p[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)p[8] | (size_t)p[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return fail(err, errlen, "npy: truncated header", NULL);
        hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
        hoff = 12;
    } else {
        char v[16];
        snprintf(v, sizeof v, "%u", major);
        return fail(err, errlen, "npy: unsupported format version", v);
    }
    if (hlen > size - hoff) return fail(err, errlen, "npy: truncated header", NULL);
    char *h = malloc(hlen + 1);
    if (!h) return fail(err, errlen, "npy: out of memory", NULL);
    memcpy(h, p + hoff, hlen);
    h[hlen] = '\0';

    ember_dtype dt = EMBER_DT_UNDEFINED;
    size_t esize = 0;
    const char *v;
    int rc = 0;
    if (!(v = find_key(h, "descr"))) rc = fail(err, errlen, "npy: header lacks 'descr'", NULL);
    else rc = parse_descr(v, &dt, &esize, err, errlen);
    if (rc == 0) {
        if (!(v = find_key(h, "fortran_order"))) rc = fail(err, errlen, "npy: header lacks 'fortran_order'", NULL);
        else if (strncmp(v, "True", 4) == 0) rc = fail(err, errlen, "npy: Fortran-order arrays are not supported (save with C order)", NULL);
        else if (strncmp(v, "False", 5) != 0) rc = fail(err, errlen, "npy: bad 'fortran_order'", NULL);
    }
    if (rc == 0) {
        if (!(v = find_key(h, "shape"))) rc = fail(err, errlen, "npy: header lacks 'shape'", NULL);
        else rc = parse_shape(v, t, err, errlen);
    }
    free(h);
    if (rc) return rc;

    size_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        uint64_t d = (uint64_t)t->dims[i];
        if (d && n > SIZE_MAX / d) return fail(err, errlen, "npy: shape too large", NULL);
        n *= (size_t)d;
    }
    if (n > SIZE_MAX / esize) return fail(err, errlen, "npy: shape too large", NULL);
    size_t nbytes = n * esize;
    size_t avail = size - hoff - hlen;
    if (avail != nbytes) {
        char d[96];
        snprintf(d, sizeof d, "expected %zu data bytes, file has %zu", nbytes, avail);
        return fail(err, errlen, "npy: data size does not match the header", d);
    }
    t->dtype = dt;
    t->nbytes = nbytes;
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->data) return fail(err, errlen, "npy: out of memory", NULL);
    memcpy(t->data, p + hoff + hlen, nbytes);
    return 0;
}

int npy_encode(const ember_tensor *t, void **buf, size_t *size, char *err, size_t errlen)
{
    *buf = NULL;
    *size = 0;
    const char *descr = npy_descr(t->dtype);
    if (!descr) return fail(err, errlen, "npy: dtype cannot be stored in .npy", ember_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > EMBER_MAX_RANK) return fail(err, errlen, "npy: bad rank", NULL);
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%lld", i ? ", " : "",
                        (long long)t->dims[i]);
    /* a 1-tuple needs its trailing comma in Python syntax */
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", t->rank == 1 ? "," : "");
    /* numpy pads with spaces and a newline so the data starts 64-byte aligned. */
    size_t pre = 10, total_h = pre + (size_t)len + 1;
    size_t padded = (total_h + 63) / 64 * 64;
    size_t hlen = padded - pre;
    size_t total = padded + t->nbytes;
    unsigned char *b = malloc(total ? total : 1);
    if (!b) return fail(err, errlen, "npy: out of memory", NULL);
    memcpy(b, npy_magic, 6);
    b[6] = 1;
    b[7] = 0;
    b[8] = (unsigned char)(hlen & 0xff);
    b[9] = (unsigned char)(hlen >> 8);
    memcpy(b + pre, dict, (size_t)len);
    memset(b + pre + len, ' ', hlen - (size_t)len - 1);
    b[padded - 1] = '\n';
    if (t->nbytes) memcpy(b + padded, t->data, t->nbytes);
    *buf = b;
    *size = total;
    return 0;
}

int npy_read_file(const char *path, ember_tensor *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, path, strerror(errno));
    unsigned char *data = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nd = realloc(data, cap);
            if (!nd) {
                free(data);
                fclose(f);
                return fail(err, errlen, path, "out of memory");
            }
            data = nd;
        }
        size_t r = fread(data + size, 1, cap - size, f);
        size += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return fail(err, errlen, path, "read error");
    }
    int rc = npy_decode(data, size, t, err, errlen);
    free(data);
    return rc;
}

int npy_write_file(const char *path, const ember_tensor *t, char *err, size_t errlen)
{
    void *buf;
    size_t size;
    if (npy_encode(t, &buf, &size, err, errlen)) return -1;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return fail(err, errlen, path, strerror(errno));
    }
    size_t w = fwrite(buf, 1, size, f);
    free(buf);
    if (fclose(f) != 0 || w != size) return fail(err, errlen, path, "write error");
    return 0;
}
