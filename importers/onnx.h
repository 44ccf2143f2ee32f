/* ONNX importer: ModelProto bytes -> ember_graph. */
#ifndef EMBER_ONNX_H
#define EMBER_ONNX_H
#include <stddef.h>

#include "../engine/graph.h"

/* Model-level facts kept alongside the graph (strings in the graph's arena). */
typedef struct ember_model_meta {
    int64_t ir_version;
    int n;              /* key/value pairs: producer_name, producer_version, domain,
                           model_version, doc_string (those present), then metadata_props */
    const char **keys;
    const char **values;
    uint64_t external_id; /* identity (device, inode, size, mtime, offset, length) of the
                             external data read, 0 when none: part of compile-cache keys */
} ember_model_meta;

/* Parses `data` (a serialized ModelProto). External-data files are looked up under
 * `base_dir` only (NULL: any external data is refused); paths that leave the folder
 * (absolute, "..", symlinks pointing out) are refused.
 * Checks, before decoding, that messages nest no deeper than a fixed limit.
 * Sets node->op for every supported op, checks attributes against the op schema and
 * reports ALL unsupported ops in one error. Sorts the graph topologically.
 * out: *graph (free with ember_graph_free), *meta (in the graph's arena). */
ember_status ember_onnx_import(const void *data, size_t size, const char *base_dir,
                               ember_graph **graph, ember_model_meta *meta);
/* EMBER_ONNX_DROP_SOURCE: `data` is a private read-only file mapping; once an
 * initializer's bytes are copied, their pages are given back (madvise), so the import
 * never holds the weights twice. */
enum { EMBER_ONNX_DROP_SOURCE = 1 };
ember_status ember_onnx_import_ex(const void *data, size_t size, const char *base_dir, unsigned flags,
                                  ember_graph **graph, ember_model_meta *meta);

/* Decodes a serialized TensorProto (the test-data .pb layout).
 * out: *t with malloc'd data (release with ember_tensor_release);
 *      *name (malloc'd, may be NULL if name_out is NULL; free with free()). */
ember_status ember_onnx_read_tensor(const void *data, size_t size, ember_tensor *t,
                                    char **name_out);
/* Encodes t (with optional name) as a serialized TensorProto.
 * out: *buf malloc'd (free with free()), *size its length. */
ember_status ember_onnx_write_tensor(const ember_tensor *t, const char *name, void **buf,
                                     size_t *size);
#endif
