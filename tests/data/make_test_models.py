"""Generates the small models the unit tests use (run with any Python that has onnx)."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# sym_mlp.onnx: Y = Relu(X @ W + B) * 2 with X [batch, 4]: a symbolic batch dim.
W = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5, "W")
B = numpy_helper.from_array(np.array([0.1, -0.2, 0.3], dtype=np.float32), "B")
two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
g = helper.make_graph(
    [helper.make_node("MatMul", ["X", "W"], ["xw"], name="matmul"),
     helper.make_node("Add", ["xw", "B"], ["xwb"], name="add"),
     helper.make_node("Relu", ["xwb"], ["r"], name="relu"),
     helper.make_node("Mul", ["r", "two"], ["Y"], name="double")],
    "sym_mlp",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 3])],
    [W, B, two])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="ember-tests")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, "sym_mlp.onnx")
