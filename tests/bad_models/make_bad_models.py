#!/usr/bin/env python3
"""Writes hostile or broken ONNX models into this folder. Every one must be refused by
ember_onnx_import with an error (never a crash); tests/unit/test_importer.c checks that.

The protobuf encoding is done by hand so that the script needs nothing but Python and can
write what a protobuf library would refuse to (deep nesting, bad lengths, groups).
Run: python3 tests/bad_models/make_bad_models.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def key(num, wire):
    return varint((num << 3) | wire)


def vint(num, v):
    return key(num, 0) + varint(v)


def ld(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return key(num, 2) + varint(len(payload)) + payload


# ---- messages (field numbers from onnx.proto) ----

def tensor(name, dtype, dims, raw=None, external=None):
    b = b"".join(vint(1, d) for d in dims) + vint(2, dtype) + ld(8, name)
    if raw is not None:
        b += ld(9, raw)
    if external is not None:
        for k, v in external:
            b += ld(13, ld(1, k) + ld(2, v))
        b += vint(14, 1)
    return b


def value_info(name, elem=1, dims=None):
    t = vint(1, elem)
    if dims is not None:
        t += ld(2, b"".join(ld(1, vint(1, d)) for d in dims))
    return ld(1, name) + ld(2, ld(1, t))


def node(op, inputs, outputs, name="", attrs=b"", domain=None):
    b = b"".join(ld(1, i) for i in inputs) + b"".join(ld(2, o) for o in outputs)
    b += ld(3, name) + ld(4, op) + attrs
    if domain is not None:
        b += ld(7, domain)
    return b


def graph(nodes, inputs=(), outputs=(), inits=()):
    b = b"".join(ld(1, n) for n in nodes) + ld(2, "g")
    b += b"".join(ld(5, t) for t in inits)
    b += b"".join(ld(11, v) for v in inputs) + b"".join(ld(12, v) for v in outputs)
    return b


def model(g, opset=13, ir=8):
    return vint(1, ir) + ld(8, ld(1, "") + vint(2, opset)) + ld(2, "make_bad_models") + ld(7, g)


def identity_graph(inits=(), x_dims=(2,)):
    return graph([node("Identity", ["x"], ["y"], "id")], [value_info("x", 1, list(x_dims))],
                 [value_info("y")], inits)


def with_init(t):
    return model(graph([node("Identity", ["w"], ["y"], "id")], [], [value_info("y")], [t]))


def deep_if(levels):
    # built inside out; 10k levels of ~30 bytes each stays small
    g = b""
    for _ in range(levels):
        a = ld(1, "then_branch") + vint(20, 5) + ld(6, g)
        g = ld(1, ld(4, "If") + ld(5, a))
    return model(g)


def deep_type(levels):
    t = ld(1, vint(1, 1))  # tensor_type { elem_type: FLOAT }
    for _ in range(levels):
        t = ld(4, ld(1, t))  # sequence_type { elem_type: t }
    vi = ld(1, "x") + ld(2, t)
    return model(ld(11, vi) + ld(12, value_info("x")))


def models():
    f4 = struct.pack("<4f", 1, 2, 3, 4)
    good = model(identity_graph())
    yield "deep_if_nesting", deep_if(1000)
    yield "deep_type_nesting", deep_type(1000)
    yield "raw_data_wrong_length", with_init(tensor("w", 1, [5], f4))
    yield "negative_dim_initializer", with_init(tensor("w", 1, [-4], f4))
    yield "dims_overflow", with_init(tensor("w", 1, [1 << 40, 1 << 40, 1 << 40], f4))
    yield "rank_9_initializer", with_init(tensor("w", 1, [1] * 8 + [4], f4))
    yield "string_initializer", with_init(tensor("w", 8, [1]))
    yield "negative_dim_input", model(identity_graph(x_dims=(1, -3)))
    yield "external_parent_dir", with_init(tensor("w", 1, [4], external=[("location", "../../../etc/passwd")]))
    yield "external_absolute", with_init(tensor("w", 1, [4], external=[("location", "/etc/passwd")]))
    yield "external_missing", with_init(tensor("w", 1, [4], external=[("location", "no_such_file.bin")]))
    yield "external_beyond_end", with_init(tensor("w", 1, [4], external=[
        ("location", "make_bad_models.py"), ("offset", "999999999")]))
    yield "cycle", model(graph([node("Identity", ["b"], ["a"], "n1"), node("Identity", ["a"], ["b"], "n2")],
                               [], [value_info("b")]))
    yield "undefined_input", model(graph([node("Identity", ["ghost"], ["y"], "id")], [], [value_info("y")]))
    yield "defined_twice", model(graph([node("Identity", ["x"], ["y"], "a"), node("Identity", ["x"], ["y"], "b")],
                                       [value_info("x", 1, [1])], [value_info("y")]))
    yield "output_never_produced", model(graph([], [], [value_info("nothing")]))
    yield "empty_op_type", model(graph([node("", ["x"], ["y"], "n")], [value_info("x", 1, [1])], [value_info("y")]))
    yield "opset_99", model(identity_graph(), opset=99)
    yield "ir_version_2", model(identity_graph(), ir=2)
    yield "unsupported_ops", model(graph([node("NoSuchOp", ["x"], ["a"], "n1"), node("NoSuchOp", ["a"], ["b"], "n2"),
                                          node("Other", ["b"], ["y"], "n3", domain="com.example")],
                                         [value_info("x", 1, [1])], [value_info("y")]))
    attr = ld(1, "value_int") + vint(20, 2) + key(7, 5) + struct.pack("<f", 1.0)
    yield "attr_wrong_type", model(graph([node("Constant", [], ["y"], "c", ld(5, attr))], [], [value_info("y")]))
    sub = graph([node("Identity", ["not_anywhere"], ["t"], "in_branch")], [], [value_info("t")])
    branch = ld(1, "then_branch") + vint(20, 5) + ld(6, sub)
    yield "subgraph_undefined_outer", model(graph([node("If", ["x"], ["y"], "if", ld(5, branch))],
                                                  [value_info("x", 9, [])], [value_info("y")]))
    yield "truncated", good[:-5]
    yield "huge_length_prefix", vint(1, 8) + key(7, 2) + varint(0x7FFFFFF0) + b"\x0a\x00"
    yield "overlong_varint", vint(1, 8) + key(5, 0) + b"\xff" * 11
    yield "group_wire_type", good + key(30, 3) + key(30, 4)
    yield "empty_nodes_flood", model(b"\x0a\x00" * 20000)


def main():
    for name, data in models():
        with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
