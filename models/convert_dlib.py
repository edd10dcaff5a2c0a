#!/usr/bin/env python3
"""Convert dlib's face-recognition network (dlib_face_recognition_resnet_model_v1.dat) to ONNX.

Usage:
    python3 models/convert_dlib.py INPUT.dat OUTPUT.onnx

Needs numpy and onnx (models/requirements.txt). The output is deterministic: the same .dat
always gives the same bytes (and, for the .dat of face_recognition_models 0.3.0, the file
pinned in models/manifest.toml).

How it works
------------
dlib serialises a network as nested layer wrappers, outermost first; each wrapper writes its
version, then the network beneath it, then its own layer's details. So the file holds the
wrapper versions of the whole stack (outermost first), then the input layer, then the layers'
details from the innermost outwards. The stream is not self-describing, so the parser is driven
by the known network type (`anet_type` of dlib's examples/dnn_face_recognition_ex.cpp), built
by `network_layers()` below. Format facts: ../shared/docs/dlib-format.md and dlib's
serialize.h, dnn/core.h, layers.h, input.h, loss.h.

Each `affine` (batch norm frozen to scale and shift) follows a `con` and is folded into it.
dlib semantics that differ from the usual ResNet and are reproduced explicitly:
  * default padding is 0 when the stride is not 1, otherwise kernel/2;
  * `add_prev` of tensors of different shapes takes the larger size in every dimension and
    zero-pads the smaller operand at the end (channels, and bottom/right spatially): an
    explicit ONNX `Pad` on that operand;
  * the input layer subtracts the per-channel RGB mean and divides by 256, inside the graph.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile

import numpy as np

# ---------------------------------------------------------------------------------------
# dlib serialisation primitives (dlib/serialize.h)
# ---------------------------------------------------------------------------------------


class DlibFormatError(ValueError):
    pass


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def fail(self, msg: str):
        raise DlibFormatError(f"offset {self.pos}: {msg}")

    def peek(self) -> int:
        if self.pos >= len(self.data):
            self.fail("unexpected end of file")
        return self.data[self.pos]

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            self.fail(f"unexpected end of file (wanted {n} bytes)")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def int(self) -> int:
        """Control byte (0x80 = negative, low 4 bits = number of bytes), then LE magnitude."""
        ctrl = self.take(1)[0]
        n = ctrl & 0x0F
        if ctrl & 0x70 or n > 8:
            self.pos -= 1
            self.fail(f"not an integer (control byte 0x{ctrl:02x})")
        v = int.from_bytes(self.take(n), "little")
        return -v if ctrl & 0x80 else v

    def uint(self) -> int:
        v = self.int()
        if v < 0:
            self.fail("negative value where an unsigned one was expected")
        return v

    def float(self) -> float:
        """Scalar float/double: 64-bit mantissa m and 16-bit exponent e, value m * 2**e."""
        if self.peek() & 0x70:
            self.fail("old ASCII float encoding is not supported")
        m = self.int()
        e = self.int()
        if e == 32000:
            return float("inf")
        if e == 32001:
            return float("-inf")
        if e == 32002:
            return float("nan")
        return float(m) * 2.0**e

    def str(self) -> str:
        n = self.uint()
        return self.take(n).decode("latin-1")

    def bool(self) -> bool:
        c = self.take(1)
        if c not in (b"0", b"1"):
            self.pos -= 1
            self.fail(f"not a bool ({c!r})")
        return c == b"1"

    def tensor(self) -> np.ndarray:
        """resizable_tensor: version 2, dims (num_samples, k, nr, nc), float32 LE data."""
        version = self.int()
        if version != 2:
            self.fail(f"unexpected tensor version {version}")
        dims = [self.uint() for _ in range(4)]
        n = int(np.prod(dims))
        arr = np.frombuffer(self.take(4 * n), dtype="<f4").reshape(dims)
        return arr.astype(np.float32)

    def alias_tensor(self) -> tuple:
        version = self.int()
        if version != 1:
            self.fail(f"unexpected alias_tensor version {version}")
        return tuple(self.uint() for _ in range(4))

    def expect_str(self, *allowed: str) -> str:
        at = self.pos
        s = self.str()
        if s not in allowed:
            self.pos = at
            self.fail(f"expected {' or '.join(map(repr, allowed))}, found {s!r}")
        return s


# ---------------------------------------------------------------------------------------
# The network type of dnn_face_recognition_ex.cpp, innermost layer first
# ---------------------------------------------------------------------------------------
#
#   block<N,BN,stride,S> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,S>>>>>
#   ares<N,S>      = relu<add_prev1<block<N,affine,1,tag1<S>>>>
#   ares_down<N,S> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<S>>>>>>>
#   anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<
#       ares_down<256, ares<256,ares<256,ares_down<256,          (alevel0, alevel1)
#       ares<128,ares<128,ares_down<128,                          (alevel2)
#       ares<64,ares<64,ares<64,ares_down<64,                     (alevel3)
#       ares<32,ares<32,ares<32,                                  (alevel4)
#       max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>>>>>>...


def _block(n: int, stride: int) -> list:
    return [
        ("con", dict(filters=n, k=3, stride=stride)),
        ("affine", {}),
        ("relu", {}),
        ("con", dict(filters=n, k=3, stride=1)),
        ("affine", {}),
    ]


def _ares(n: int) -> list:
    return [("tag", 1)] + _block(n, 1) + [("add_prev", dict(id=1)), ("relu", {})]


def _ares_down(n: int) -> list:
    return (
        [("tag", 1)]
        + _block(n, 2)
        + [("tag", 2), ("skip", 1), ("avg_pool", dict(k=2, stride=2)), ("add_prev", dict(id=2)), ("relu", {})]
    )


def network_layers() -> list:
    """The wrappers of anet_type from the input upwards (without the input and loss layers)."""
    layers = [
        ("con", dict(filters=32, k=7, stride=2)),
        ("affine", {}),
        ("relu", {}),
        ("max_pool", dict(k=3, stride=2)),
    ]
    layers += _ares(32) * 3  # alevel4
    layers += _ares_down(64) + _ares(64) * 3  # alevel3
    layers += _ares_down(128) + _ares(128) * 2  # alevel2
    layers += _ares_down(256) + _ares(256) * 2  # alevel1
    layers += _ares_down(256)  # alevel0
    layers += [("avg_pool", dict(k=0, stride=1)), ("fc", dict(outputs=128, bias=False))]
    return layers


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _read_trailer(r: Reader, version: int, bottom: bool):
    """What an add_layer wrapper stores after its layer's details (all empty tensors here)."""
    for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, get_output..._disabled
        r.bool()
    if bottom:
        # bottom add_layer: x_grad, cached_output, grad_final; version 3 adds the
        # sample-expansion factor.
        for _ in range(3):
            r.tensor()
        if version >= 3:
            r.uint()
    else:
        # version 1: x_grad, cached_output; version 2 (this file): also params_grad.
        for _ in range(2 if version == 1 else 3):
            r.tensor()


def _read_details(r: Reader, kind: str, cfg: dict) -> dict:
    if kind == "con":
        r.expect_str("con_4")
        params = r.tensor().reshape(-1)
        num_filters, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
        falias = r.alias_tensor()
        balias = r.alias_tensor()
        for _ in range(4):  # learning-rate and weight-decay multipliers
            r.float()
        want_pad = 0 if cfg["stride"] != 1 else cfg["k"] // 2
        if (num_filters, nr, nc, sy, sx, py, px) != (
            cfg["filters"], cfg["k"], cfg["k"], cfg["stride"], cfg["stride"], want_pad, want_pad
        ):
            r.fail(f"con_ parameters {(num_filters, nr, nc, sy, sx, py, px)} differ from the network type {cfg}")
        nf = int(np.prod(falias))
        if falias[0] != num_filters or balias != (1, num_filters, 1, 1) or params.size != nf + num_filters:
            r.fail(f"con_ tensor sizes inconsistent: filters {falias}, biases {balias}, params {params.size}")
        return dict(W=params[:nf].reshape(falias), B=params[nf:], stride=sy, pad=py, k=nr)
    if kind == "affine":
        r.expect_str("affine_")
        params = r.tensor().reshape(-1)
        g = r.alias_tensor()
        b = r.alias_tensor()
        if r.peek() not in (0x30, 0x31):  # newer dlib writes the layer mode (an int) too
            mode = r.int()
            if mode != 0:
                r.fail(f"affine_ in FC mode ({mode}) where CONV mode was expected")
        n = int(np.prod(g))
        if g != b or params.size != 2 * n:
            r.fail("affine_ tensor sizes inconsistent")
        return dict(gamma=params[:n], beta=params[n:])
    if kind == "relu":
        r.expect_str("relu_")
        return {}
    if kind in ("max_pool", "avg_pool"):
        r.expect_str(f"{kind}_2")
        nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
        k, s = cfg["k"], cfg["stride"]
        want_pad = 0 if s != 1 else k // 2
        if (nr, nc, sy, sx, py, px) != (k, k, s, s, want_pad, want_pad):
            r.fail(f"{kind} parameters {(nr, nc, sy, sx, py, px)} differ from the network type {cfg}")
        return dict(k=k, stride=s)
    if kind == "add_prev":
        r.expect_str("add_prev_")
        return {}
    if kind == "fc":
        r.expect_str("fc_2")
        num_outputs = r.uint()
        num_inputs = r.uint()
        params = r.tensor().reshape(-1)
        w = r.alias_tensor()
        b = r.alias_tensor()
        bias_mode = r.int()
        for _ in range(4):
            r.float()
        if num_outputs != cfg["outputs"] or bias_mode != (0 if cfg["bias"] else 1):
            r.fail(f"fc_ parameters (outputs {num_outputs}, bias mode {bias_mode}) differ from {cfg}")
        nw = int(np.prod(w))
        if w[:2] != (num_inputs, num_outputs) or params.size != nw + (int(np.prod(b)) if cfg["bias"] else 0):
            r.fail(f"fc_ tensor sizes inconsistent: weights {w}, params {params.size}")
        # dlib: output = x * W with W stored (num_inputs x num_outputs)
        return dict(W=params[:nw].reshape(num_inputs, num_outputs))
    raise AssertionError(kind)


def parse_dat(data: bytes) -> dict:
    r = Reader(data)
    layers = network_layers()
    # add_loss_layer: version, loss details, then the network.
    if r.int() != 1:
        r.fail("unexpected add_loss_layer version")
    loss = r.expect_str("loss_metric_", "loss_metric_2")
    if loss == "loss_metric_2":
        r.float()  # margin
        r.float()  # distance threshold
    # Wrapper versions, outermost first.
    versions = []
    for i, (kind, _) in enumerate(reversed(layers)):
        v = r.int()
        bottom = i == len(layers) - 1
        ok = {"tag": (1,), "skip": (1,)}.get(kind, (2, 3) if bottom else (1, 2))
        if v not in ok:
            r.fail(f"unexpected version {v} for {kind} wrapper #{len(layers) - i}")
        versions.append(v)
    versions.reverse()
    # Input layer.
    r.expect_str("input_rgb_image_sized")
    mean = [r.float() for _ in range(3)]
    nr, nc = r.int(), r.int()
    if (nr, nc) != (150, 150):
        r.fail(f"input size {nr}x{nc}, expected 150x150")
    # Layer details, innermost first.
    out = []
    for i, ((kind, cfg), v) in enumerate(zip(layers, versions)):
        if kind in ("tag", "skip"):
            out.append((kind, dict(id=cfg)))
            continue
        details = _read_details(r, kind, cfg)
        details.update(cfg)
        _read_trailer(r, v, bottom=(i == 0))
        out.append((kind, details))
    if r.pos != len(data):
        r.fail(f"{len(data) - r.pos} trailing bytes after the network")
    return dict(mean=np.array(mean, dtype=np.float32), size=(nr, nc), layers=out)


# ---------------------------------------------------------------------------------------
# ONNX graph
# ---------------------------------------------------------------------------------------

DOC = (
    "Input: 1x3x150x150 RGB float, raw 0..255 pixel values of a dlib-style aligned face chip; "
    "normalisation (x-mean)/256 is inside the graph. Output: raw 128-d descriptor (dlib compares "
    "with euclidean distance, threshold 0.6)."
)


def build_onnx(net: dict):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def init(prefix: str, arr: np.ndarray) -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(arr, n))
        return n

    def node(op: str, inputs: list, prefix: str, **attrs) -> str:
        out = name(prefix)
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv_out(size: int, k: int, s: int, p: int) -> int:
        return (size + 2 * p - k) // s + 1

    h, w = net["size"]
    mean = init("mean", net["mean"].reshape(1, 3, 1, 1))
    x = node("Sub", ["input", mean], "sub")
    scale = init("scale", np.array([1.0 / 256.0], dtype=np.float32))
    cur = (node("Mul", [x, scale], "mul"), (3, h, w))
    tags = {}
    pending_con = None
    layers = net["layers"]
    for i, (kind, d) in enumerate(layers):
        if kind == "con":
            pending_con = d
            if i + 1 < len(layers) and layers[i + 1][0] == "affine":
                continue
            kind, d = "affine", dict(gamma=np.ones(d["filters"], np.float32), beta=np.zeros(d["filters"], np.float32))
        if kind == "affine":
            c = pending_con
            if c is None:
                raise DlibFormatError("affine layer without a preceding con layer")
            pending_con = None
            g = d["gamma"].astype(np.float32)
            wt = (c["W"] * g[:, None, None, None]).astype(np.float32)
            b = (c["B"] * g + d["beta"]).astype(np.float32)
            wn, bn = init("W", wt), init("B", b)
            p, s, k = c["pad"], c["stride"], c["k"]
            y = node("Conv", [cur[0], wn, bn], "conv", kernel_shape=[k, k], pads=[p, p, p, p], strides=[s, s])
            _, ih, iw = cur[1]
            cur = (y, (c["filters"], conv_out(ih, k, s, p), conv_out(iw, k, s, p)))
        elif kind == "relu":
            cur = (node("Relu", [cur[0]], "relu"), cur[1])
        elif kind == "max_pool":
            k, s = d["k"], d["stride"]
            y = node("MaxPool", [cur[0]], "maxpool", kernel_shape=[k, k], strides=[s, s])
            c_, ih, iw = cur[1]
            cur = (y, (c_, conv_out(ih, k, s, 0), conv_out(iw, k, s, 0)))
        elif kind == "avg_pool" and d["k"] == 0:
            cur = (node("GlobalAveragePool", [cur[0]], "globalaveragepool"), (cur[1][0], 1, 1))
        elif kind == "avg_pool":
            k, s = d["k"], d["stride"]
            y = node("AveragePool", [cur[0]], "averagepool", kernel_shape=[k, k], strides=[s, s])
            c_, ih, iw = cur[1]
            cur = (y, (c_, conv_out(ih, k, s, 0), conv_out(iw, k, s, 0)))
        elif kind == "tag":
            tags[d["id"]] = cur
        elif kind == "skip":
            cur = tags[d["id"]]
        elif kind == "add_prev":
            # dlib: out = subnet output + tagged output, the larger size in every dimension,
            # the smaller operand zero-padded at the end.
            a, b = cur, tags[d["id"]]
            shape = tuple(max(u, v) for u, v in zip(a[1], b[1]))
            operands = []
            for t, shp in (a, b):
                if shp != shape:
                    pads = np.array([0, 0, 0, 0, 0] + [m - n for m, n in zip(shape, shp)], dtype=np.int64)
                    pn = init("pads", pads)
                    t = node("Pad", [t, pn], "pad", mode="constant")
                operands.append(t)
            cur = (node("Add", operands, "add"), shape)
        elif kind == "fc":
            flat = node("Flatten", [cur[0]], "flatten", axis=1)
            wn = init("fcW", d["W"].astype(np.float32))
            cur = (node("MatMul", [flat, wn], "matmul"), (d["W"].shape[1],))
        else:
            raise AssertionError(kind)
    nodes.append(helper.make_node("Identity", [cur[0]], ["descriptor"], name="out"))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, [1, cur[1][0]])],
        inits,
    )
    model = helper.make_model(graph, producer_name="dlib2onnx-prototype", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.doc_string = DOC
    onnx.checker.check_model(model)
    return model


def convert(dat_path: str, onnx_path: str) -> str:
    """Convert; write atomically; return the SHA-256 of the written file."""
    with open(dat_path, "rb") as f:
        data = f.read()
    model = build_onnx(parse_dat(data))
    blob = model.SerializeToString(deterministic=True)
    out_dir = os.path.dirname(os.path.abspath(onnx_path))
    fd, tmp = tempfile.mkstemp(prefix=".convert-", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.chmod(tmp, 0o644)
        os.replace(tmp, onnx_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return hashlib.sha256(blob).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dat", help="dlib_face_recognition_resnet_model_v1.dat")
    ap.add_argument("onnx", help="output .onnx path")
    args = ap.parse_args(argv)
    try:
        digest = convert(args.dat, args.onnx)
    except DlibFormatError as e:
        print(f"convert_dlib: {args.dat}: not the expected dlib network: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.onnx} ({os.path.getsize(args.onnx)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
