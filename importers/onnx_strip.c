/* Large initializers' raw_data taken out of the ModelProto before protobuf-c sees it.
 *
 * protobuf-c copies every bytes field when it unpacks, so a model's weights would sit in
 * memory three times during an import (the serialized model, protobuf-c's copy, the
 * graph's copy). This walks the wire format along ModelProto.graph (field 7) ->
 * GraphProto.initializer (5) -> TensorProto.raw_data (9), writes a copy of the model
 * without those raw_data fields (rewriting the enclosing lengths), and records where each
 * initializer's raw_data lies in the original bytes, so the importer copies the weights
 * straight from there. Anything unexpected on that path (a repeated graph or raw_data
 * field, groups, a length past its message) leaves the model as it is: the normal
 * import then reports whatever is wrong with it. */
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

#define STRIP_MIN_BYTES 4096 /* smaller raw_data stays inline */

typedef struct span {
    size_t at, len;
} span;

static int varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n) return 0;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* One field of the message in p[0..n) at *pos: number, wire type, and for wire type 2
 * its payload [*pay, *pay + *plen). Advances *pos past the field. 0 on anything else
 * than a well-formed varint / fixed / length-delimited field. */
static int field(const uint8_t *p, size_t n, size_t *pos, uint64_t *num, int *wt, size_t *pay, size_t *plen)
{
    uint64_t tag, v;
    if (!varint(p, n, pos, &tag)) return 0;
    *num = tag >> 3;
    *wt = (int)(tag & 7);
    switch (*wt) {
    case 0: return varint(p, n, pos, &v);
    case 1:
        if (n - *pos < 8) return 0;
        *pos += 8;
        return 1;
    case 5:
        if (n - *pos < 4) return 0;
        *pos += 4;
        return 1;
    case 2:
        if (!varint(p, n, pos, &v) || v > n - *pos) return 0;
        *pay = *pos;
        *plen = (size_t)v;
        *pos += (size_t)v;
        return 1;
    default: return 0; /* groups */
    }
}

static size_t put_varint(uint8_t *o, uint64_t v)
{
    size_t k = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        o[k++] = b | (v ? 0x80 : 0);
    } while (v);
    return k;
}

static size_t varint_len(uint64_t v)
{
    size_t k = 1;
    while (v >>= 7) k++;
    return k;
}

/* The raw_data field of the TensorProto at t[0..n) when it is the only one and large:
 * its field bounds [*fs, *fe) and payload span (offsets relative to t). */
static int big_raw(const uint8_t *t, size_t n, size_t *fs, size_t *fe, span *raw)
{
    size_t pos = 0, found = 0;
    while (pos < n) {
        size_t start = pos, pay = 0, plen = 0;
        uint64_t num;
        int wt;
        if (!field(t, n, &pos, &num, &wt, &pay, &plen)) return 0;
        if (num == 9) {
            if (wt != 2 || found++) return 0;
            *fs = start, *fe = pos;
            raw->at = pay, raw->len = plen;
        }
    }
    return found == 1 && raw->len >= STRIP_MIN_BYTES;
}

void onnx_stripped_free(onnx_stripped *s)
{
    free(s->bytes);
    free(s->raw);
    memset(s, 0, sizeof *s);
}

/* Writes the graph message without big raw_data fields into o (NULL: only measures).
 * Returns its length. */
static size_t graph_out(const uint8_t *g, size_t n, size_t base, uint8_t *o, onnx_stripped *s)
{
    size_t pos = 0, out = 0, ii = 0;
    while (pos < n) {
        size_t start = pos, pay = 0, plen = 0, fs, fe;
        uint64_t num;
        int wt;
        field(g, n, &pos, &num, &wt, &pay, &plen); /* checked by the measuring pass */
        span raw;
        if (num == 5 && wt == 2 && big_raw(g + pay, plen, &fs, &fe, &raw)) {
            size_t inner = plen - (fe - fs);
            if (o) {
                out += put_varint(o + out, (5 << 3) | 2);
                out += put_varint(o + out, inner);
                memcpy(o + out, g + pay, fs);
                memcpy(o + out + fs, g + pay + fe, plen - fe);
                s->raw[ii].data = (const uint8_t *)(uintptr_t)(base + pay + raw.at);
                s->raw[ii].len = raw.len;
            } else {
                out += varint_len((5 << 3) | 2) + varint_len(inner);
            }
            out += inner;
        } else {
            if (o) memcpy(o + out, g + start, pos - start);
            out += pos - start;
        }
        if (num == 5 && wt == 2) ii++;
    }
    return out;
}

int onnx_strip_raw(const void *data, size_t size, onnx_stripped *s)
{
    memset(s, 0, sizeof *s);
    const uint8_t *p = data;
    size_t pos = 0, gs = 0, ge = 0, gpay = 0, glen = 0, graphs = 0;
    while (pos < size) {
        size_t start = pos, pay = 0, plen = 0;
        uint64_t num;
        int wt;
        if (!field(p, size, &pos, &num, &wt, &pay, &plen)) return 0;
        if (num == 7) {
            if (wt != 2 || graphs++) return 0;
            gs = start, ge = pos, gpay = pay, glen = plen;
        }
    }
    if (graphs != 1) return 0;
    /* Check the graph's fields and count initializers; any big raw_data to take out? */
    const uint8_t *g = p + gpay;
    size_t n_init = 0, big = 0;
    pos = 0;
    while (pos < glen) {
        size_t pay = 0, plen = 0, fs, fe;
        uint64_t num;
        int wt;
        if (!field(g, glen, &pos, &num, &wt, &pay, &plen)) return 0;
        span raw;
        if (num == 5 && wt == 2) {
            n_init++;
            big += big_raw(g + pay, plen, &fs, &fe, &raw);
        }
    }
    if (!big) return 0;
    s->raw = calloc(n_init, sizeof *s->raw);
    if (!s->raw) return 0;
    s->n_raw = n_init;
    size_t inner = graph_out(g, glen, 0, NULL, s);
    size_t total = gs + varint_len((7 << 3) | 2) + varint_len(inner) + inner + (size - ge);
    s->bytes = malloc(total ? total : 1);
    if (!s->bytes) {
        onnx_stripped_free(s);
        return 0;
    }
    uint8_t *o = s->bytes;
    memcpy(o, p, gs);
    size_t out = gs;
    out += put_varint(o + out, (7 << 3) | 2);
    out += put_varint(o + out, inner);
    out += graph_out(g, glen, gpay, o + out, s);
    memcpy(o + out, p + ge, size - ge);
    out += size - ge;
    s->size = out;
    /* Offsets into data became pointers. */
    for (size_t i = 0; i < s->n_raw; i++)
        if (s->raw[i].data) s->raw[i].data = p + (uintptr_t)s->raw[i].data;
    return 1;
}
