/* Pieces shared by the ONNX importer's files (onnx.c, onnx_wire.c, onnx_tensor.c,
 * onnx_attr.c). Not part of any public interface. */
#ifndef EMBER_ONNX_INTERNAL_H
#define EMBER_ONNX_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "../engine/status.h"
#include "ember_onnx.pb-c.h"
#include "onnx.h"

/* protobuf-c's unpack and free recurse once per message level; this bounds the stack
 * they can use. Each subgraph costs three levels (Graph -> Node -> Attribute). */
#define ONNX_MAX_MSG_DEPTH 100
/* Graphs inside attributes inside graphs... */
#define ONNX_MAX_GRAPH_DEPTH 32

/* Walks the wire format of `data` as message `root` without recursion: varints, lengths
 * and fixed-size fields must lie within their enclosing message, and submessages may nest
 * at most max_depth levels. Errors give the byte offset. */
ember_status onnx_wire_check(const uint8_t *data, size_t size,
                             const ProtobufCMessageDescriptor *root, int max_depth);

/* onnx_wire_check, then protobuf-c unpack under a memory budget.
 * out: *msg, free with protobuf_c_message_free_unpacked(msg, NULL). */
ember_status onnx_unpack(const ProtobufCMessageDescriptor *d, const void *data, size_t size,
                         ProtobufCMessage **msg);

/* Where decoded tensor data goes: the graph arena or malloc. */
typedef struct onnx_alloc {
    void *(*alloc)(void *ctx, size_t n);
    void (*release)(void *ctx, void *p); /* NULL: nothing to undo (arena) */
    void *ctx;
} onnx_alloc;

/* Decodes a dense TensorProto. `label` names it in errors ("initializer 'w'").
 * External data is read from under base_dir (NULL: refused).
 * out: *t with data from `al` (at least one byte, even for empty tensors). */
ember_status onnx_decode_tensor(const Onnx__TensorProto *tp, const char *label,
                                const char *base_dir, const onnx_alloc *al,
                                ember_const_tensor *t);

/* A ModelProto with its large initializers' raw_data taken out (onnx_strip.c): bytes is
 * the rest, raw[i] where initializer i's raw_data lies in the original bytes (data NULL:
 * left inline). */
typedef struct onnx_raw_span {
    const uint8_t *data;
    size_t len;
} onnx_raw_span;
typedef struct onnx_stripped {
    uint8_t *bytes;
    size_t size;
    onnx_raw_span *raw;
    size_t n_raw;
} onnx_stripped;
/* 1 and *s when there was something to take out; 0 (nothing allocated) otherwise. */
int onnx_strip_raw(const void *data, size_t size, onnx_stripped *s);
void onnx_stripped_free(onnx_stripped *s);

/* onnx_decode_tensor with the raw data given apart from the message (raw NULL: none). */
ember_status onnx_decode_tensor_raw(const Onnx__TensorProto *tp, const char *label, const char *base_dir,
                                    const onnx_alloc *al, const onnx_raw_span *raw, ember_const_tensor *t);

/* Identity of the external data decode_tensor read on this thread since the last reset
 * (ember_onnx_import resets it and copies it into the model's meta). */
extern _Thread_local uint64_t onnx_external_id;

/* ONNX element type number -> Ember dtype; false when Ember lacks the type
 * (strings included). */
int onnx_dtype_supported(int64_t onnx_type);
const char *onnx_dtype_label(int64_t onnx_type); /* "complex64", ... for messages */

/* Attribute decoding (onnx_attr.c). Graph attributes are not built here: the caller gets
 * *sub set to the GraphProto and builds it later (no recursion). */
typedef struct onnx_attr_ctx {
    ember_graph *g;             /* arena for strings, arrays, tensors */
    const char *base_dir;
    const char *node_name;      /* for messages */
    const char *op_type;
} onnx_attr_ctx;
ember_status onnx_decode_attr(const onnx_attr_ctx *c, const Onnx__AttributeProto *ap,
                              ember_attr *out, const Onnx__GraphProto **sub);
/* Fails when two attributes of one node share a name. */
ember_status onnx_check_attr_names(const onnx_attr_ctx *c, const ember_attr *attrs, int n);
#endif
