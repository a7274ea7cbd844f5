"""dlib's face-recognition ResNet, run with numpy: a 150x150 face chip in, the same 128-D descriptor out.

dlib-bin is built without BLAS, so its encoder spends 110-150 ms of one core per face here and holds the
GIL while it does. This is the same network (`anet_type` of dlib's dnn_face_recognition_ex.cpp) with the
same weights, read from dlib's own model file, as im2col + numpy's BLAS matrix products: about 33 ms per
face on one core, the GIL released, and descriptors equal to dlib's to within 1e-6 (tests/test_encoder.py
compares them on real photos; bench/encoder.py measures both).

The model file is dlib's serialisation of the network: integers as a length byte then little-endian bytes,
strings as a length then bytes, tensors as (n, k, rows, cols) then raw little-endian float32. Layers come
from the input up; each layer's own fields follow its name, and the bookkeeping dlib writes after them
(flags, empty gradient tensors) holds no weights, so the reader skips to the next layer name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

CHIP_SIDE = 150  # dlib's input_rgb_image_sized<150>
CHIP_PADDING = 0.25  # what compute_face_descriptor uses around the 5 landmarks

_LAYER_NAMES = (
    b"input_rgb_image_sized",
    b"con_4",
    b"affine_",
    b"relu_",
    b"max_pool_2",
    b"avg_pool_2",
    b"add_prev_",
    b"fc_2",
)
_NEXT_LAYER = re.compile(rb"\x01[\x04-\x16](" + b"|".join(_LAYER_NAMES) + rb")")


class EncoderFormatError(ValueError):
    """The model file is not the network this module knows how to run."""


@dataclass(frozen=True)
class Conv:
    """A convolution with its batch-norm folded in: weights (rows*cols*k, filters), per-filter scale and
    shift; no padding on strided convolutions, "same" padding otherwise (dlib's defaults)."""

    weights: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    kernel: int
    stride: int
    pad: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(rows, cols, k) float32 in, (rows', cols', filters) out: im2col, one matrix product."""
        if self.pad:
            x = np.pad(x, ((self.pad, self.pad), (self.pad, self.pad), (0, 0)))
        k, s = self.kernel, self.stride
        rows = (x.shape[0] - k) // s + 1
        cols = (x.shape[1] - k) // s + 1
        # Patches laid out (dy, dx, channel) so that each copy below moves whole channel runs.
        patches = np.empty((rows, cols, k, k, x.shape[2]), np.float32)
        for dy in range(k):
            for dx in range(k):
                patches[:, :, dy, dx, :] = x[
                    dy : dy + s * (rows - 1) + 1 : s, dx : dx + s * (cols - 1) + 1 : s
                ]
        out = patches.reshape(rows * cols, -1) @ self.weights
        out *= self.scale
        out += self.shift
        return out.reshape(rows, cols, -1)


@dataclass(frozen=True)
class Residual:
    """conv-bn-relu-conv-bn plus the block's input (average-pooled 2x2 when the block halves the size),
    then relu. Where sizes differ dlib adds as if the smaller tensor were padded with zeros."""

    first: Conv
    second: Conv
    downsample: bool

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.second(np.maximum(self.first(x), 0))
        skip = _average_pool_2x2(x) if self.downsample else x
        if skip.shape != y.shape:
            total = np.zeros(tuple(map(max, y.shape, skip.shape)), np.float32)
            total[: y.shape[0], : y.shape[1], : y.shape[2]] += y
            total[: skip.shape[0], : skip.shape[1], : skip.shape[2]] += skip
            y = total
        else:
            y += skip
        return np.maximum(y, 0, out=y)


def _average_pool_2x2(x: np.ndarray) -> np.ndarray:
    rows, cols = (x.shape[0] - 2) // 2 + 1, (x.shape[1] - 2) // 2 + 1
    return 0.25 * (
        x[0 : 2 * rows : 2, 0 : 2 * cols : 2]
        + x[1 : 2 * rows : 2, 0 : 2 * cols : 2]
        + x[0 : 2 * rows : 2, 1 : 2 * cols : 2]
        + x[1 : 2 * rows : 2, 1 : 2 * cols : 2]
    )


def _max_pool_3x3_stride_2(x: np.ndarray) -> np.ndarray:
    rows, cols = (x.shape[0] - 3) // 2 + 1, (x.shape[1] - 3) // 2 + 1
    out = x[0 : 2 * rows : 2, 0 : 2 * cols : 2].copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, x[dy : dy + 2 * rows - 1 : 2, dx : dx + 2 * cols - 1 : 2], out=out)
    return out


class _Reader:
    """dlib's serialisation, read forwards."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def integer(self) -> int:
        head = self.data[self.at]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.at + 1 : self.at + 1 + size], "little")
        self.at += 1 + size
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        return float(np.ldexp(mantissa, self.integer()))

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise EncoderFormatError("unknown tensor version")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.at)
        self.at += 4 * count
        return values.astype(np.float32).reshape(shape)

    def next_layer(self) -> str | None:
        found = _NEXT_LAYER.search(self.data, self.at)
        if found is None:
            return None
        self.at = found.end()
        return found.group(1).decode()


@dataclass(frozen=True)
class _Layer:
    name: str
    values: tuple = ()


def _read_layers(data: bytes) -> list[_Layer]:
    """Every layer of the file, from the input up, with the fields this module needs."""
    reader = _Reader(data)
    layers: list[_Layer] = []
    while (name := reader.next_layer()) is not None:
        if name == "input_rgb_image_sized":
            mean = np.array([reader.real() for _ in range(3)], np.float32)
            layers.append(_Layer(name, (mean, reader.integer(), reader.integer())))
        elif name == "con_4":
            params = reader.tensor().ravel()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
            layers.append(_Layer(name, (params, filters, rows, cols, stride_y, stride_x, pad_y, pad_x)))
        elif name == "affine_":
            params = reader.tensor().ravel()
            layers.append(_Layer(name, (params[: params.size // 2], params[params.size // 2 :])))
        elif name in ("max_pool_2", "avg_pool_2"):
            layers.append(_Layer(name, tuple(reader.integer() for _ in range(6))))
        elif name == "fc_2":
            outputs, inputs = reader.integer(), reader.integer()
            weights = reader.tensor()
            if weights.shape[:2] != (inputs, outputs):
                raise EncoderFormatError("unexpected fully connected layer")
            layers.append(_Layer(name, (weights.reshape(inputs, outputs),)))
        else:
            layers.append(_Layer(name))
    return layers


def _conv(con: _Layer, affine: _Layer) -> Conv:
    """A con_ layer and the affine_ (frozen batch norm) after it, as one `Conv`."""
    if con.name != "con_4" or affine.name != "affine_":
        raise EncoderFormatError(
            f"expected a convolution and its affine layer, found {con.name}, {affine.name}"
        )
    params, filters, rows, cols, stride_y, stride_x, pad_y, pad_x = con.values
    channels = (params.size - filters) // (filters * rows * cols)
    if rows != cols or stride_y != stride_x or pad_y != pad_x:
        raise EncoderFormatError("only square kernels, strides and padding are supported")
    weights = params[: filters * channels * rows * cols].reshape(filters, channels, rows, cols)
    bias = params[filters * channels * rows * cols :]
    gamma, beta = affine.values
    return Conv(
        # (filters, k, rows, cols) → (rows*cols*k, filters), matching the patch layout in Conv.__call__
        weights=np.ascontiguousarray(weights.transpose(2, 3, 1, 0).reshape(-1, filters)),
        scale=gamma.astype(np.float32),
        shift=(bias * gamma + beta).astype(np.float32),
        kernel=rows,
        stride=stride_y,
        pad=pad_y,
    )


class FaceEncoder:
    """The network: `encode(chip)` for one (150, 150, 3) uint8 RGB face chip → float32 (128,).

    Its matrix products run on one BLAS thread: they are small, and on this machine's two vCPUs two
    threads made an encoding 8x slower (238 ms against 30 ms), more so beside other workers."""

    def __init__(self, mean: np.ndarray, stem: Conv, blocks: list[Residual], dense: np.ndarray) -> None:
        self.mean = mean
        self.stem = stem
        self.blocks = blocks
        self.dense = dense
        self._threads = ThreadpoolController()

    @classmethod
    def from_file(cls, path: str | Path) -> FaceEncoder:
        """dlib_face_recognition_resnet_model_v1.dat in; the network, checked against the expected shape.

        Raises `EncoderFormatError` for a file that holds another network."""
        try:
            layers = _read_layers(Path(path).read_bytes())
        except (IndexError, ValueError) as exc:  # a field runs past the end: the file is cut short
            raise EncoderFormatError(f"{Path(path).name} is damaged or cut short") from exc
        if len(layers) < 8:
            raise EncoderFormatError(f"{Path(path).name} is not dlib's face recognition ResNet")
        names = [layer.name for layer in layers]
        if names[:5] != ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]:
            raise EncoderFormatError("not dlib's face recognition ResNet (its first layers differ)")
        if names[-2:] != ["avg_pool_2", "fc_2"] or layers[-2].values[:2] != (0, 0):
            raise EncoderFormatError("not dlib's face recognition ResNet (its last layers differ)")
        mean, rows, cols = layers[0].values
        if (rows, cols) != (CHIP_SIDE, CHIP_SIDE) or layers[4].values[:4] != (3, 3, 2, 2):
            raise EncoderFormatError("not dlib's face recognition ResNet (input or pooling differ)")
        blocks: list[Residual] = []
        at = 5
        body = layers[:-2]
        while at < len(body):
            # con affine relu con affine [avg_pool] add_prev relu
            downsample = body[at + 5].name == "avg_pool_2"
            end = at + (8 if downsample else 7)
            if [layer.name for layer in body[end - 2 : end]] != ["add_prev_", "relu_"]:
                raise EncoderFormatError("not dlib's face recognition ResNet (a residual block differs)")
            blocks.append(
                Residual(_conv(body[at], body[at + 1]), _conv(body[at + 3], body[at + 4]), downsample)
            )
            at = end
        return cls(mean, _conv(layers[1], layers[2]), blocks, layers[-1].values[0])

    def encode(self, chip: np.ndarray) -> np.ndarray:
        """A (150, 150, 3) uint8 RGB chip (dlib.get_face_chip with size 150, padding 0.25) → (128,) float32."""
        if chip.shape != (CHIP_SIDE, CHIP_SIDE, 3):
            raise ValueError(f"a face chip is {CHIP_SIDE}x{CHIP_SIDE} RGB, not {chip.shape}")
        with self._threads.limit(limits=1, user_api="blas"):
            x = (chip.astype(np.float32) - self.mean) * np.float32(1 / 256)
            x = _max_pool_3x3_stride_2(np.maximum(self.stem(x), 0))
            for block in self.blocks:
                x = block(x)
            return x.mean(axis=(0, 1), dtype=np.float32) @ self.dense
