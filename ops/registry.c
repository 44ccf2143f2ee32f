/* The op table, built from ops/ops.def, and the attribute-schema checker. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "op_decls.h"

const ember_op_desc ember_op_table[EMBER_OP_COUNT] = {
#define EMBER_OP(e, name, since, attrs, infer, run) [EMBER_OP_##e] = {name, "", since, attrs, infer, run},
#include "ops.def"
#undef EMBER_OP
};

/* The table is indexed by enum: count rows separately so a row that fails to expand
 * (or a stray second list) shows up as a size mismatch at compile time. */
enum {
    OP_ROWS = 0
#define EMBER_OP(e, name, since, attrs, infer, run) +1
#include "ops.def"
#undef EMBER_OP
};
_Static_assert((int)OP_ROWS == (int)EMBER_OP_COUNT, "op rows and op enum out of step");
_Static_assert(sizeof ember_op_table / sizeof ember_op_table[0] == EMBER_OP_COUNT,
               "op table and op enum out of step");

int ember_op_lookup(const char *domain, const char *op_type)
{
    if (domain && *domain && strcmp(domain, "ai.onnx") != 0) return -1;
    for (int i = 0; i < EMBER_OP_COUNT; i++)
        if (strcmp(ember_op_table[i].name, op_type) == 0) return i;
    return -1;
}

static const char *attr_type_name(ember_attr_type t)
{
    switch (t) {
    case EMBER_ATTR_FLOAT: return "f";
    case EMBER_ATTR_INT: return "i";
    case EMBER_ATTR_STRING: return "s";
    case EMBER_ATTR_TENSOR: return "t";
    case EMBER_ATTR_GRAPH: return "g";
    case EMBER_ATTR_FLOATS: return "floats";
    case EMBER_ATTR_INTS: return "ints";
    case EMBER_ATTR_STRINGS: return "strings";
    default: return "undefined";
    }
}

ember_status ember_op_check_attrs(const ember_node *n)
{
    if (n->op < 0 || n->op >= EMBER_OP_COUNT) return EMBER_OK;
    const char *schema = ember_op_table[n->op].attrs;
    for (int a = 0; a < n->n_attrs; a++) {
        const ember_attr *at = &n->attrs[a];
        size_t len = strlen(at->name);
        const char *p = schema;
        const char *type = NULL;
        while (p && *p) {
            while (*p == ' ') p++;
            const char *colon = strchr(p, ':');
            if (!colon) break;
            const char *end = strchr(colon, ' ');
            if (!end) end = colon + strlen(colon);
            if ((size_t)(colon - p) == len && strncmp(p, at->name, len) == 0) {
                static _Thread_local char tbuf[16];
                size_t tl = (size_t)(end - colon - 1);
                if (tl >= sizeof tbuf) tl = sizeof tbuf - 1;
                memcpy(tbuf, colon + 1, tl);
                tbuf[tl] = '\0';
                type = tbuf;
                break;
            }
            p = end;
        }
        if (!type) continue; /* unknown attributes are ignored, as ONNX Runtime does */
        if (strcmp(type, attr_type_name(at->type)) != 0)
            return ember_error(EMBER_E_INVALID_MODEL,
                               "node '%s' (%s): attribute '%s' has type %s, expected %s", n->name,
                               n->op_type, at->name, attr_type_name(at->type), type);
    }
    return EMBER_OK;
}
