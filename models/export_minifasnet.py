#!/usr/bin/env python3
"""Export a Silent-Face-Anti-Spoofing MiniFASNet checkpoint (.pth) to ONNX, as pinned in the manifest.

    python models/export_minifasnet.py --repo SILENT_FACE_CHECKOUT \
        --weights SILENT_FACE_CHECKOUT/resources/anti_spoof_models/2.7_80x80_MiniFASNetV2.pth \
        --out minifasnet_v2_2.7_80x80.onnx

Needs torch (and onnxruntime, optional, for the numerical self-check) and a checkout of
minivision-ai/Silent-Face-Anti-Spoofing (its src/model_lib/MiniFASNet.py defines the networks).
Loads the weights the way the repository's src/anti_spoof_predict.py does (model type and input
size from the file name, conv6 kernel = ceil(size/16), `module.` prefixes stripped), and exports
the network without the softmax: input `input` 1x3x80x80 (BGR, raw 0..255), output `logits` 1x3,
opset 13, TorchScript exporter. models/fetch.sh runs this when FACEID_SILENT_FACE_DIR is set and
then checks the result against the manifest's SHA-256; the pinned files were made with the torch
version in the manifest (`export_torch`), and another version may serialise different bytes.

Not exercised in this project's CI (no torch there); the mirror copy is what CI installs.
"""

import argparse
import inspect
import os
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="checkout of minivision-ai/Silent-Face-Anti-Spoofing")
    ap.add_argument("--weights", required=True, help="the .pth under resources/anti_spoof_models/")
    ap.add_argument("--out", required=True, help="output .onnx")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        print("export_minifasnet.py: needs PyTorch (pip install torch onnx)", file=sys.stderr)
        return 1
    sys.path.insert(0, os.path.abspath(args.repo))
    try:
        from src.model_lib.MiniFASNet import MiniFASNetV1, MiniFASNetV1SE, MiniFASNetV2, MiniFASNetV2SE
        from src.utility import get_kernel, parse_model_name
    except ImportError as e:
        print(f"export_minifasnet.py: {args.repo} is not a Silent-Face-Anti-Spoofing checkout: {e}", file=sys.stderr)
        return 1
    mapping = {
        "MiniFASNetV1": MiniFASNetV1,
        "MiniFASNetV2": MiniFASNetV2,
        "MiniFASNetV1SE": MiniFASNetV1SE,
        "MiniFASNetV2SE": MiniFASNetV2SE,
    }
    h, w, model_type, _ = parse_model_name(os.path.basename(args.weights))
    model = mapping[model_type](conv6_kernel=get_kernel(h, w))
    state = torch.load(args.weights, map_location="cpu")
    if next(iter(state)).startswith("module."):
        state = {k[len("module.") :]: v for k, v in state.items()}
    model.load_state_dict(state)
    model.eval()

    dummy = torch.zeros(1, 3, h, w)
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=args.opset, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter, as used for the pinned files
    torch.onnx.export(model, dummy, args.out, **kwargs)

    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        print("exported (onnxruntime not installed: numerical self-check skipped)", file=sys.stderr)
        return 0
    x = torch.rand(1, 3, h, w) * 255
    with torch.no_grad():
        want = model(x).numpy()
    got = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    diff = float(np.max(np.abs(want - got)))
    print(f"exported {args.out}: max abs difference torch vs onnxruntime {diff:.3g}", file=sys.stderr)
    return 0 if diff < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
