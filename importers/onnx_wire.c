/* A protobuf wire-format pre-check and the guarded protobuf-c unpack.
 *
 * protobuf-c trusts its input's shape: unpack and free recurse once per nested message,
 * so a few kilobytes of nested empty graphs would overflow the stack. The walk here
 * follows the generated descriptors (so it knows which length-delimited fields are
 * submessages) with an explicit stack, and refuses deep nesting and anything truncated
 * before protobuf-c sees the bytes. */
#include <stdlib.h>

#include "onnx_internal.h"

typedef struct wire_frame {
    size_t end;
    const ProtobufCMessageDescriptor *desc;
} wire_frame;

/* Returns the number of bytes read, 0 when the varint runs past `end` or is longer than
 * a 64-bit value allows. */
static size_t read_varint(const uint8_t *p, size_t pos, size_t end, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 10; i++) {
        if (pos + i >= end) return 0;
        uint8_t b = p[pos + i];
        if (i == 9 && b > 1) return 0;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

ember_status onnx_wire_check(const uint8_t *data, size_t size,
                             const ProtobufCMessageDescriptor *root, int max_depth)
{
    wire_frame stack[ONNX_MAX_MSG_DEPTH + 1];
    if (max_depth > ONNX_MAX_MSG_DEPTH) max_depth = ONNX_MAX_MSG_DEPTH;
    int top = 0;
    stack[0].end = size;
    stack[0].desc = root;
    size_t pos = 0;
    for (;;) {
        while (pos == stack[top].end) {
            if (top == 0) return EMBER_OK;
            top--;
        }
        size_t end = stack[top].end;
        size_t field_at = pos;
        uint64_t tag, v;
        size_t n = read_varint(data, pos, end, &tag);
        if (!n)
            return ember_error(EMBER_E_INVALID_MODEL,
                               "not a valid %s: truncated or malformed field tag at byte offset %zu",
                               root->short_name, field_at);
        pos += n;
        uint64_t number = tag >> 3;
        unsigned wire = (unsigned)(tag & 7);
        if (number == 0 || number > 0x1fffffff)
            return ember_error(EMBER_E_INVALID_MODEL,
                               "not a valid %s: bad field number %llu at byte offset %zu",
                               root->short_name, (unsigned long long)number, field_at);
        switch (wire) {
        case 0:
            n = read_varint(data, pos, end, &v);
            if (!n) goto truncated;
            pos += n;
            break;
        case 1:
            if (end - pos < 8) goto truncated;
            pos += 8;
            break;
        case 5:
            if (end - pos < 4) goto truncated;
            pos += 4;
            break;
        case 2: {
            n = read_varint(data, pos, end, &v);
            if (!n) goto truncated;
            pos += n;
            /* protobuf-c reads lengths as 32-bit values */
            if (v > end - pos || v > 0x7fffffffu) goto truncated;
            const ProtobufCFieldDescriptor *fd =
                protobuf_c_message_descriptor_get_field(stack[top].desc, (unsigned)number);
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (top + 1 >= max_depth)
                    return ember_error(EMBER_E_INVALID_MODEL,
                                       "model nests messages deeper than %d levels at byte "
                                       "offset %zu",
                                       max_depth, field_at);
                top++;
                stack[top].end = pos + (size_t)v;
                stack[top].desc = fd->descriptor;
            } else {
                pos += (size_t)v;
            }
            break;
        }
        default:
            /* 3/4 are the long-deprecated groups, which protobuf-c does not read */
            return ember_error(EMBER_E_INVALID_MODEL,
                               "not a valid %s: unsupported wire type %u at byte offset %zu",
                               root->short_name, wire, field_at);
        }
        continue;
    truncated:
        return ember_error(EMBER_E_INVALID_MODEL,
                           "not a valid %s: field at byte offset %zu runs past the end of its "
                           "message (byte %zu)",
                           root->short_name, field_at, end);
    }
}

/* Unpacked messages take more memory than their encoding (an empty NodeProto is two bytes
 * on the wire and ~170 in memory); the budget keeps a hostile file from turning that into
 * gigabytes. Real models stay far below it. */
typedef struct budget {
    size_t used, limit;
    int exceeded;
} budget;

static void *budget_alloc(void *data, size_t n)
{
    budget *b = data;
    if (n > b->limit - b->used) {
        b->exceeded = 1;
        return NULL;
    }
    b->used += n;
    return malloc(n);
}

static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

ember_status onnx_unpack(const ProtobufCMessageDescriptor *d, const void *data, size_t size,
                         ProtobufCMessage **msg)
{
    *msg = NULL;
    if (!data && size) return ember_error(EMBER_E_INVALID_ARG, "no data given");
    static const uint8_t empty[1];
    if (!data) data = empty;
    TRY(onnx_wire_check(data, size, d, ONNX_MAX_MSG_DEPTH));
    budget b = {0, (size_t)256 << 20, 0};
    if (size < (SIZE_MAX - b.limit) / 32) b.limit += size * 32;
    else b.limit = SIZE_MAX;
    ProtobufCAllocator al = {budget_alloc, budget_free, &b};
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &al, size, data);
    if (!m) {
        if (b.exceeded)
            return ember_error(EMBER_E_NO_MEMORY,
                               "decoding this %zu-byte %s would need more than %zu MiB",
                               size, d->short_name, b.limit >> 20);
        return ember_error(EMBER_E_INVALID_MODEL,
                           "not a valid %s: protobuf decoding failed (a field has the wrong "
                           "wire type or a malformed value)",
                           d->short_name);
    }
    *msg = m;
    return EMBER_OK;
}
