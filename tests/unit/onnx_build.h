/* Shared pieces of the tests' protobuf-c ONNX builders (test_importer.c, test_jit.c, ...):
 * a pool allocator whose blocks are all freed by pool_free, graph, model and attribute builders. */
#ifndef EMBER_TEST_ONNX_BUILD_H
#define EMBER_TEST_ONNX_BUILD_H
#include <stddef.h>
#include <stdint.h>

#include "ember_onnx.pb-c.h"

/* n zeroed bytes (at least 1), kept until pool_free. */
void *P(size_t n);
/* A pool copy of s. */
char *S(const char *s);
/* Frees everything P and S handed out. */
void pool_free(void);

/* Appends attribute `name` to n (whose attribute array has room); type 0 leaves
 * has_type unset. */
Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type);

/* A graph named `name` with room for `cap` nodes, inputs, outputs and initializers. */
Onnx__GraphProto *graph_new(const char *name, size_t cap);
/* A model around g (ir_version 8) importing the default domain at `opset`, with room for
 * `n_opsets` opset imports. */
Onnx__ModelProto *model_new(Onnx__GraphProto *g, int opset, size_t n_opsets);

/* Appends node `op` (named n<index>) reading the comma-separated inputs `ins_csv`
 * (strtok: empty names are skipped) and writing `out`, with room for 32 inputs and
 * attributes. */
Onnx__NodeProto *node_csv(Onnx__GraphProto *g, const char *op, const char *ins_csv, const char *out);
/* Packs a model around g (default domain at `opset`), loads it with the public API
 * (a Criterion assertion on failure) and frees the builders' pool. */
struct ember_model *model_built_load(Onnx__GraphProto *g, int opset);

/* A float32 tensor value info `name` of static shape dims[0 .. rank) (rank < 0: no
 * shape at all). */
Onnx__ValueInfoProto *vi_float(const char *name, int rank, const int64_t *dims);

#endif
