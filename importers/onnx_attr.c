/* AttributeProto -> ember_attr. The declared `type` decides which field is read; old
 * writers that leave it out get it inferred from the one field that is set. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

enum { AT_MAX = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS };

static const char *type_name(int t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR",
                                        "GRAPH", "FLOATS", "INTS", "STRINGS", "TENSORS",
                                        "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS",
                                        "TYPE_PROTO", "TYPE_PROTOS"};
    return t >= 0 && t <= AT_MAX ? names[t] : "unknown";
}

/* Whether the field that carries type t is set. */
static int present(const Onnx__AttributeProto *a, int t)
{
    switch (t) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return a->has_f;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return a->has_i;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return a->has_s;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return a->t != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return a->g != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return a->n_floats > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return a->n_ints > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return a->n_strings > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return a->n_tensors > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return a->n_graphs > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return a->sparse_tensor != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return a->n_sparse_tensors > 0;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return a->tp != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return a->n_type_protos > 0;
    default: return 0;
    }
}

static ember_status fail(const onnx_attr_ctx *c, const char *attr, ember_status s,
                         const char *what)
{
    return ember_error(s, "node '%s' (%s): attribute '%s' %s", c->node_name, c->op_type, attr,
                       what);
}

static void *arena_alloc(void *ctx, size_t n) { return ember_arena_alloc(ctx, n); }

static ember_status oom(const onnx_attr_ctx *c, const char *attr)
{
    return fail(c, attr, EMBER_E_NO_MEMORY, "could not be stored: out of memory");
}

ember_status onnx_decode_attr(const onnx_attr_ctx *c, const Onnx__AttributeProto *ap,
                              ember_attr *out, const Onnx__GraphProto **sub)
{
    memset(out, 0, sizeof *out);
    *sub = NULL;
    const char *name = ap->name ? ap->name : "";
    if (!*name)
        return ember_error(EMBER_E_INVALID_MODEL, "node '%s' (%s) has an attribute without a name",
                           c->node_name, c->op_type);
    if (ap->ref_attr_name && *ap->ref_attr_name)
        return fail(c, name, EMBER_E_INVALID_MODEL,
                    "refers to a function attribute, but the node is not inside a function");
    int type = ap->has_type ? (int)ap->type : 0;
    char msg[160];
    if (type != 0) {
        if (type < 0 || type > AT_MAX) {
            snprintf(msg, sizeof msg, "has unknown type %d", type);
            return fail(c, name, EMBER_E_INVALID_MODEL, msg);
        }
        if (!present(ap, type))
            for (int k = 1; k <= AT_MAX; k++)
                if (k != type && present(ap, k)) {
                    snprintf(msg, sizeof msg, "is declared %s but holds %s", type_name(type),
                             type_name(k));
                    return fail(c, name, EMBER_E_INVALID_MODEL, msg);
                }
    } else {
        int n = 0;
        for (int k = 1; k <= AT_MAX; k++)
            if (present(ap, k)) {
                if (n++) {
                    snprintf(msg, sizeof msg, "has no type and holds both %s and %s",
                             type_name(type), type_name(k));
                    return fail(c, name, EMBER_E_INVALID_MODEL, msg);
                }
                type = k;
            }
        if (!n) return fail(c, name, EMBER_E_INVALID_MODEL, "has neither a type nor a value");
    }
    out->name = ember_arena_strdup(&c->g->arena, name);
    if (!out->name) return oom(c, name);
    ember_arena *ar = &c->g->arena;
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        out->type = EMBER_ATTR_FLOAT;
        out->f = ap->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        out->type = EMBER_ATTR_INT;
        out->i = ap->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        out->type = EMBER_ATTR_STRING;
        out->s = ember_arena_strndup(ar, (const char *)ap->s.data, ap->s.len);
        out->s_len = ap->s.len;
        if (!out->s) return oom(c, name);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        if (ap->n_floats > INT_MAX) return fail(c, name, EMBER_E_UNSUPPORTED, "is too long");
        out->type = EMBER_ATTR_FLOATS;
        out->n = (int)ap->n_floats;
        out->floats = ember_arena_alloc(ar, ap->n_floats * sizeof(float));
        if (!out->floats) return oom(c, name);
        if (ap->n_floats) memcpy(out->floats, ap->floats, ap->n_floats * sizeof(float));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        if (ap->n_ints > INT_MAX) return fail(c, name, EMBER_E_UNSUPPORTED, "is too long");
        out->type = EMBER_ATTR_INTS;
        out->n = (int)ap->n_ints;
        out->ints = ember_arena_alloc(ar, ap->n_ints * sizeof(int64_t));
        if (!out->ints) return oom(c, name);
        if (ap->n_ints) memcpy(out->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        if (ap->n_strings > INT_MAX) return fail(c, name, EMBER_E_UNSUPPORTED, "is too long");
        out->type = EMBER_ATTR_STRINGS;
        out->n = (int)ap->n_strings;
        out->strings = ember_arena_alloc(ar, ap->n_strings * sizeof(char *));
        if (!out->strings) return oom(c, name);
        for (size_t k = 0; k < ap->n_strings; k++) {
            out->strings[k] = ember_arena_strndup(ar, (const char *)ap->strings[k].data,
                                                  ap->strings[k].len);
            if (!out->strings[k]) return oom(c, name);
        }
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        if (!ap->t) return fail(c, name, EMBER_E_INVALID_MODEL, "is declared TENSOR but is empty");
        out->type = EMBER_ATTR_TENSOR;
        out->t = ember_arena_alloc(ar, sizeof *out->t);
        if (!out->t) return oom(c, name);
        char label[400];
        snprintf(label, sizeof label, "tensor in attribute '%.64s' of node '%.200s'", name,
                 c->node_name);
        onnx_alloc al = {arena_alloc, NULL, ar};
        TRY(onnx_decode_tensor(ap->t, label, c->base_dir, &al, out->t));
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
        if (!ap->g) return fail(c, name, EMBER_E_INVALID_MODEL, "is declared GRAPH but is empty");
        out->type = EMBER_ATTR_GRAPH;
        *sub = ap->g;
        break;
    default:
        snprintf(msg, sizeof msg, "has type %s, which Ember does not support", type_name(type));
        return fail(c, name, EMBER_E_UNSUPPORTED, msg);
    }
    return EMBER_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ember_status onnx_check_attr_names(const onnx_attr_ctx *c, const ember_attr *attrs, int n)
{
    const char *dup = NULL;
    if (n <= 16) {
        for (int i = 0; i < n && !dup; i++)
            for (int j = i + 1; j < n; j++)
                if (strcmp(attrs[i].name, attrs[j].name) == 0) {
                    dup = attrs[i].name;
                    break;
                }
    } else {
        /* many attributes: sort a copy of the names rather than compare all pairs */
        const char **names = malloc(sizeof(char *) * (size_t)n);
        if (!names) return ember_error(EMBER_E_NO_MEMORY, "out of memory");
        for (int i = 0; i < n; i++) names[i] = attrs[i].name;
        qsort(names, (size_t)n, sizeof *names, cmp_name);
        for (int i = 1; i < n && !dup; i++)
            if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
        free(names);
    }
    if (dup)
        return ember_error(EMBER_E_INVALID_MODEL, "node '%s' (%s) has attribute '%s' twice",
                           c->node_name, c->op_type, dup);
    return EMBER_OK;
}
