#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool cli_dtype_is_float(ember_dtype dt)
{
    return dt == EMBER_DT_FLOAT || dt == EMBER_DT_DOUBLE || dt == EMBER_DT_FLOAT16 ||
           dt == EMBER_DT_BFLOAT16;
}

bool cli_dtype_is_int(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_UINT8: case EMBER_DT_INT8: case EMBER_DT_UINT16: case EMBER_DT_INT16:
    case EMBER_DT_INT32: case EMBER_DT_INT64: case EMBER_DT_BOOL: case EMBER_DT_UINT32:
    case EMBER_DT_UINT64:
        return true;
    default:
        return false;
    }
}

/* Local element sizes: the comparison must not trust a library call for the layout it
 * is checking the library against. */
static size_t elem_size(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_UINT8: case EMBER_DT_INT8: case EMBER_DT_BOOL: return 1;
    case EMBER_DT_UINT16: case EMBER_DT_INT16: case EMBER_DT_FLOAT16: case EMBER_DT_BFLOAT16: return 2;
    case EMBER_DT_FLOAT: case EMBER_DT_INT32: case EMBER_DT_UINT32: return 4;
    case EMBER_DT_DOUBLE: case EMBER_DT_INT64: case EMBER_DT_UINT64: return 8;
    default: return 0;
    }
}

size_t cli_numel(const ember_tensor *t)
{
    size_t n = 1;
    if (t->rank < 0 || t->rank > EMBER_MAX_RANK) return SIZE_MAX;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) return SIZE_MAX;
        uint64_t d = (uint64_t)t->dims[i];
        if (d && n > SIZE_MAX / d) return SIZE_MAX;
        n *= (size_t)d;
    }
    return n;
}

float cli_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t cli_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exp: fine */
    return (uint16_t)(sign | half);
}

float cli_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double cli_elem_f64(const ember_tensor *t, size_t i)
{
    const unsigned char *p = (const unsigned char *)t->data + i * elem_size(t->dtype);
    switch (t->dtype) {
    case EMBER_DT_FLOAT: { float v; memcpy(&v, p, 4); return v; }
    case EMBER_DT_DOUBLE: { double v; memcpy(&v, p, 8); return v; }
    case EMBER_DT_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return cli_half_to_float(v); }
    case EMBER_DT_BFLOAT16: { uint16_t v; memcpy(&v, p, 2); return cli_bf16_to_float(v); }
    case EMBER_DT_UINT8: case EMBER_DT_BOOL: return *p;
    case EMBER_DT_INT8: return (int8_t)*p;
    case EMBER_DT_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case EMBER_DT_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case EMBER_DT_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case EMBER_DT_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case EMBER_DT_INT64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case EMBER_DT_UINT64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    default: return NAN;
    }
}

static void format_index(const ember_tensor *t, size_t flat, char *buf, size_t n)
{
    int64_t idx[EMBER_MAX_RANK];
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = t->dims[d] ? (int64_t)(flat % (size_t)t->dims[d]) : 0;
        flat = t->dims[d] ? flat / (size_t)t->dims[d] : 0;
    }
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->rank && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

static void format_shape(const ember_tensor *t, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->rank && d < EMBER_MAX_RANK && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

void cli_compare(const ember_tensor *got, const ember_tensor *ref, double rtol, double atol,
                 cli_cmp *r)
{
    memset(r, 0, sizeof *r);
    char a[128], b[128];
    if (got->dtype != ref->dtype) {
        snprintf(r->msg, sizeof r->msg, "dtype mismatch: got %s, expected %s",
                 ember_dtype_name(got->dtype), ember_dtype_name(ref->dtype));
        return;
    }
    bool same_shape = got->rank == ref->rank;
    for (int d = 0; same_shape && d < got->rank; d++) same_shape = got->dims[d] == ref->dims[d];
    if (!same_shape) {
        format_shape(got, a, sizeof a);
        format_shape(ref, b, sizeof b);
        snprintf(r->msg, sizeof r->msg, "shape mismatch: got %s, expected %s", a, b);
        return;
    }
    size_t esz = elem_size(ref->dtype);
    if (!esz) {
        snprintf(r->msg, sizeof r->msg, "cannot compare tensors of type %s", ember_dtype_name(ref->dtype));
        return;
    }
    size_t n = cli_numel(ref);
    if (n == SIZE_MAX || got->nbytes != n * esz || ref->nbytes != n * esz ||
        (n && (!got->data || !ref->data))) {
        snprintf(r->msg, sizeof r->msg, "data size mismatch: got %zu bytes, expected %zu bytes for %zu elements",
                 got->nbytes, ref->nbytes, n);
        return;
    }
    r->numel = n;
    size_t first_bad = SIZE_MAX;
    bool isf = cli_dtype_is_float(ref->dtype);
    for (size_t i = 0; i < n; i++) {
        bool bad;
        double x = cli_elem_f64(got, i), y = cli_elem_f64(ref, i), err;
        if (isf) {
            if (isnan(x) || isnan(y)) {
                bad = !(isnan(x) && isnan(y));
                err = bad ? INFINITY : 0;
            } else if (isinf(x) || isinf(y)) {
                bad = x != y;
                err = bad ? INFINITY : 0;
            } else {
                err = fabs(x - y);
                bad = !(err <= atol + rtol * fabs(y));
                if (y != 0 && err / fabs(y) > r->max_rel) r->max_rel = err / fabs(y);
            }
        } else {
            /* exact: compare the bytes, since 64-bit integers do not survive a double */
            bad = memcmp((const char *)got->data + i * esz, (const char *)ref->data + i * esz, esz) != 0;
            err = fabs(x - y);
            if (bad && err == 0) err = 1; /* differing beyond double precision */
            if (y != 0 && err / fabs(y) > r->max_rel) r->max_rel = err / fabs(y);
        }
        if (err > r->max_abs) r->max_abs = err;
        if (bad) {
            if (first_bad == SIZE_MAX) first_bad = i;
            r->n_bad++;
        }
    }
    r->ok = r->n_bad == 0;
    if (!r->ok) {
        format_index(ref, first_bad, a, sizeof a);
        snprintf(r->msg, sizeof r->msg,
                 "%zu of %zu elements differ (max abs err %.6g, max rel err %.6g); first at %s: got %.9g, expected %.9g",
                 r->n_bad, n, r->max_abs, r->max_rel, a, cli_elem_f64(got, first_bad),
                 cli_elem_f64(ref, first_bad));
    }
}
