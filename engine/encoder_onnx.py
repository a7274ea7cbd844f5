"""dlib's face-recognition ResNet run by ONNX Runtime: the same network and weights as `engine.encoder`
(read from dlib's own model file), built in memory as an ONNX graph when a worker starts.

No file is written and nothing is downloaded or compiled: `FaceEncoder.from_file` reads the weights, this
module lays them out as ONNX nodes with the `onnx` package's helpers, and ONNX Runtime runs the graph on
one thread (one worker process per core). Each convolution's batch norm is folded into its weights and
bias; dlib adds residuals of different sizes as if the smaller were padded with zeros, so the graph pads
the smaller one explicitly. ONNX Runtime releases the GIL while it runs. bench/analysis.py has the
figures that chose it over the numpy run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from engine.encoder import CHIP_SIDE, Conv, FaceEncoder, Residual

_OPSET = 17


class _Graph:
    """Nodes and weights being collected, each output named uniquely; shapes tracked as (c, h, w)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.weights.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out


def _conv(graph: _Graph, x: str, shape: tuple[int, int, int], conv: Conv) -> tuple[str, tuple[int, int, int]]:
    """A `Conv` (weights (k*k*channels, filters) in (dy, dx, channel) order) as an ONNX Conv with the
    batch norm folded in; its output name and (c, h, w) shape."""
    k, channels = conv.kernel, shape[0]
    filters = conv.weights.shape[1]
    kernel = (
        conv.weights.reshape(k, k, channels, filters).transpose(3, 2, 0, 1) * conv.scale[:, None, None, None]
    )
    out = graph.node(
        "Conv",
        [x, graph.constant("w", np.ascontiguousarray(kernel, np.float32)), graph.constant("b", conv.shift)],
        "conv",
        kernel_shape=[k, k],
        strides=[conv.stride, conv.stride],
        pads=[conv.pad] * 4,
    )
    rows = (shape[1] + 2 * conv.pad - k) // conv.stride + 1
    cols = (shape[2] + 2 * conv.pad - k) // conv.stride + 1
    return out, (filters, rows, cols)


def _pad_to(graph: _Graph, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
    """Zeros after the end of each axis of `x` up to `target` (dlib's add of unequal tensors)."""
    if shape == target:
        return x
    ends = [0, *(t - s for s, t in zip(shape, target, strict=True))]
    pads = np.array([0, 0, 0, 0, *ends], np.int64)
    return graph.node("Pad", [x, graph.constant("pads", pads)], "pad")


def _residual(
    graph: _Graph, x: str, shape: tuple[int, int, int], block: Residual
) -> tuple[str, tuple[int, int, int]]:
    """conv-relu-conv plus the (pooled) input, zero-padded to the larger size, then relu."""
    y, y_shape = _conv(graph, x, shape, block.first)
    y = graph.node("Relu", [y], "relu")
    y, y_shape = _conv(graph, y, y_shape, block.second)
    skip, skip_shape = x, shape
    if block.downsample:
        skip = graph.node("AveragePool", [x], "avg", kernel_shape=[2, 2], strides=[2, 2])
        skip_shape = (shape[0], (shape[1] - 2) // 2 + 1, (shape[2] - 2) // 2 + 1)
    total = (max(y_shape[0], skip_shape[0]), max(y_shape[1], skip_shape[1]), max(y_shape[2], skip_shape[2]))
    added = graph.node(
        "Add", [_pad_to(graph, y, y_shape, total), _pad_to(graph, skip, skip_shape, total)], "add"
    )
    return graph.node("Relu", [added], "relu"), total


def build_model(encoder: FaceEncoder) -> onnx.ModelProto:
    """The numpy encoder's network as an ONNX model: (1, 150, 150, 3) uint8 chip in, (1, 128) float32 out."""
    graph = _Graph()
    pixels = graph.node("Cast", ["chip"], "float", to=TensorProto.FLOAT)
    mean = graph.constant("mean", encoder.mean.astype(np.float32))
    centred = graph.node("Sub", [pixels, mean], "centred")
    scaled = graph.node(
        "Mul", [centred, graph.constant("scale", np.array(1 / 256, dtype=np.float32))], "scaled"
    )
    x = graph.node("Transpose", [scaled], "nchw", perm=[0, 3, 1, 2])
    x, shape = _conv(graph, x, (3, CHIP_SIDE, CHIP_SIDE), encoder.stem)
    x = graph.node("Relu", [x], "relu")
    x = graph.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2])
    shape = (shape[0], (shape[1] - 3) // 2 + 1, (shape[2] - 3) // 2 + 1)
    for block in encoder.blocks:
        x, shape = _residual(graph, x, shape, block)
    pooled = graph.node("GlobalAveragePool", [x], "gap")
    flat = graph.node("Flatten", [pooled], "flat")
    graph.nodes.append(
        helper.make_node(
            "MatMul", [flat, graph.constant("dense", encoder.dense.astype(np.float32))], ["descriptor"]
        )
    )
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "dlib_face_recognition_resnet_v1",
            [helper.make_tensor_value_info("chip", TensorProto.UINT8, [1, CHIP_SIDE, CHIP_SIDE, 3])],
            [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, 128])],
            graph.weights,
        ),
        opset_imports=[helper.make_opsetid("", _OPSET)],
    )
    onnx.checker.check_model(model)
    return model


class OnnxFaceEncoder:
    """`encode(chip)` for one (150, 150, 3) uint8 RGB face chip → float32 (128,), as `FaceEncoder`'s, run
    by ONNX Runtime on one thread."""

    def __init__(self, encoder: FaceEncoder) -> None:
        options = onnxruntime.SessionOptions()
        # One worker process per core: more threads would only fight the other workers for it.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(
            build_model(encoder).SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def from_file(cls, path: str | Path) -> OnnxFaceEncoder:
        """dlib_face_recognition_resnet_model_v1.dat in; raises `EncoderFormatError` for another file."""
        return cls(FaceEncoder.from_file(path))

    def encode(self, chip: np.ndarray) -> np.ndarray:
        """A (150, 150, 3) uint8 RGB chip (dlib.get_face_chip with size 150, padding 0.25) → (128,) float32."""
        if chip.shape != (CHIP_SIDE, CHIP_SIDE, 3):
            raise ValueError(f"a face chip is {CHIP_SIDE}x{CHIP_SIDE} RGB, not {chip.shape}")
        batch = np.ascontiguousarray(chip, dtype=np.uint8)[None]
        return self._session.run(None, {"chip": batch})[0][0]
