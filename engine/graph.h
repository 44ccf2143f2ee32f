/* Graph IR: values (named tensors), nodes with attributes, in topological order.
 * Everything a graph owns (names, attributes, constant data) lives in its arena;
 * the value/node arrays grow with realloc. No recursion over the graph anywhere. */
#ifndef EMBER_GRAPH_H
#define EMBER_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ember.h"

/* A shape whose dimensions may be unknown (-1) and may carry a symbolic name
 * (index into graph->symbols, or -1). rank == -1: rank unknown. */
typedef struct ember_shape {
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    int32_t syms[EMBER_MAX_RANK];
} ember_shape;

enum {
    EMBER_VALUE_INPUT = 1u << 0,  /* graph input fed by the caller */
    EMBER_VALUE_OUTPUT = 1u << 1, /* graph output */
    EMBER_VALUE_CONST = 1u << 2,  /* initializer or folded constant: data is set */
    EMBER_VALUE_OUTER = 1u << 3,  /* in a subgraph: a value captured from an outer graph */
};

typedef struct ember_value {
    const char *name;
    ember_dtype dtype;   /* EMBER_DT_UNDEFINED until inferred */
    ember_shape shape;
    int producer;        /* node index, or -1 */
    uint32_t flags;
    void *data;          /* constant data (arena), row-major; NULL unless CONST */
    size_t nbytes;
} ember_value;

typedef enum {
    EMBER_ATTR_UNDEFINED = 0,
    EMBER_ATTR_FLOAT = 1,
    EMBER_ATTR_INT = 2,
    EMBER_ATTR_STRING = 3,
    EMBER_ATTR_TENSOR = 4,
    EMBER_ATTR_GRAPH = 5,
    EMBER_ATTR_FLOATS = 6,
    EMBER_ATTR_INTS = 7,
    EMBER_ATTR_STRINGS = 8,
} ember_attr_type; /* ONNX AttributeProto.AttributeType numbers */

struct ember_graph;

/* A constant tensor held by an attribute (e.g. Constant's value). */
typedef struct ember_const_tensor {
    ember_dtype dtype;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    void *data; /* arena */
    size_t nbytes;
} ember_const_tensor;

typedef struct ember_attr {
    const char *name;
    ember_attr_type type;
    float f;
    int64_t i;
    const char *s;        /* STRING (NUL-terminated; s_len excludes the NUL) */
    size_t s_len;
    float *floats;        /* FLOATS */
    int64_t *ints;        /* INTS */
    const char **strings; /* STRINGS */
    int n;                /* element count of FLOATS/INTS/STRINGS */
    ember_const_tensor *t;    /* TENSOR */
    struct ember_graph *g;    /* GRAPH */
} ember_attr;

typedef struct ember_node {
    const char *name;     /* never NULL; "" in the file gets a generated name */
    const char *op_type;
    const char *domain;   /* "" for the default ONNX domain */
    int op;               /* enum ember_op, or -1 when unsupported */
    int opset;            /* opset version of the node's domain in this model */
    int n_inputs, n_outputs, n_attrs;
    int *inputs;          /* value indices; -1 = optional input left out */
    int *outputs;         /* value indices; -1 = optional output not wanted */
    ember_attr *attrs;
    /* Values of this graph that the node's subgraphs read by name (If/Loop/Scan bodies
     * capture them). Not operands, but dependencies: ordering, dead-code elimination
     * and liveness must treat them as inputs. */
    int n_implicit;
    int *implicit;
} ember_node;

typedef struct ember_graph {
    ember_arena arena;        /* owned by this graph; a subgraph has its own */
    struct ember_graph *parent;
    const char *name;
    ember_value *values;
    int n_values, cap_values;
    ember_node *nodes;        /* topological order once ember_graph_toposort succeeded */
    int n_nodes, cap_nodes;
    int *inputs;              /* caller-fed inputs (initializers excluded) */
    int n_inputs;
    int *outputs;
    int n_outputs;
    const char **symbols;     /* symbolic dimension names */
    int n_symbols, cap_symbols;
    int opset;                /* default-domain opset of the model */
    /* name -> value index hash (open addressing) */
    int *hash;
    int hash_cap;
    struct ember_graph **subgraphs; /* every subgraph hanging off an attribute, to free */
    int n_subgraphs, cap_subgraphs;
} ember_graph;

ember_graph *ember_graph_new(ember_graph *parent);
void ember_graph_free(ember_graph *g); /* NULL fine; frees its subgraphs too */

/* Value lookup/creation by name. add fails (returns -1, sets error) if the name exists. */
int ember_graph_find(const ember_graph *g, const char *name);
int ember_graph_add_value(ember_graph *g, const char *name);
/* Finds `name` or creates it. */
int ember_graph_value(ember_graph *g, const char *name);
/* Adds a node; inputs/outputs/attrs arrays are copied into the arena. Returns index or -1. */
int ember_graph_add_node(ember_graph *g, const char *name, const char *op_type,
                         const char *domain, const int *inputs, int n_inputs,
                         const int *outputs, int n_outputs, const ember_attr *attrs,
                         int n_attrs);
int ember_graph_symbol(ember_graph *g, const char *name); /* index, created if new */

/* Sorts nodes topologically (Kahn, iterative), sets value producers; refuses cycles,
 * values used but never defined, and values defined twice, naming them. */
ember_status ember_graph_toposort(ember_graph *g);

/* Attribute lookup; NULL when absent. */
const ember_attr *ember_node_attr(const ember_node *n, const char *name);
int64_t ember_attr_int(const ember_node *n, const char *name, int64_t dflt);
float ember_attr_float(const ember_node *n, const char *name, float dflt);
const char *ember_attr_string(const ember_node *n, const char *name, const char *dflt);
/* INTS: returns count (or -1 when absent) and sets *vals. */
int ember_attr_ints(const ember_node *n, const char *name, const int64_t **vals);
/* Estimated FLOPs of node n (engine/flops.c); -1 when its shapes are unknown. */
double ember_node_flops(const ember_graph *g, const ember_node *n);
int ember_attr_floats(const ember_node *n, const char *name, const float **vals);

/* Shapes */
int64_t ember_shape_numel(const ember_shape *s); /* -1 when any dim unknown */
void ember_shape_format(const ember_graph *g, const ember_shape *s, char *buf, size_t n);
#endif
