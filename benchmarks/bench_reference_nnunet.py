"""The nnU-Net-like reference: a 3D MONAI DynUNet (~31 M parameters, nnU-Net's 3d_fullres layout) over a volume
with a Gaussian-weighted sliding window (patch 64 x 128 x 128 along slices x rows x columns, half overlap), no
test-time mirroring.

Random weights: this measures the cost of the computation, not its accuracy. One run per process (so process
start, imports and model construction count, as they do for `disccore segment`); bench_segment.py times it.

    python benchmarks/bench_reference_nnunet.py IMAGE [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATCH = (64, 128, 128)
FILTERS = (32, 64, 128, 256, 320, 320)  # nnU-Net's 3d_fullres feature counts per stage
STRIDES = ((1, 1, 1), (2, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2), (1, 2, 2))
N_CLASSES = 5


def reference_network():
    from monai.networks.nets import DynUNet

    kernels = [(3, 3, 3)] * len(STRIDES)
    return DynUNet(
        3,
        1,
        N_CLASSES,
        kernels,
        STRIDES,
        STRIDES[1:],
        filters=FILTERS,
        norm_name="instance",
        deep_supervision=False,
        res_block=False,
    ).eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--patch", default="x".join(map(str, PATCH)), help="patch size, e.g. 64x128x128")
    args = ap.parse_args()
    import numpy as np
    import torch
    from monai.inferers import sliding_window_inference

    sys.path.insert(0, str(REPO / "DiscCore"))
    from disccore.io import read_image
    from disccore.segment.preprocess import normalise_intensity

    if args.threads:
        torch.set_num_threads(args.threads)
    net = reference_network()
    image = read_image(args.image)
    # nnU-Net's patch runs (slices, rows, columns): the shortest axis (the slices of a sagittal series) first
    order = np.argsort(image.array.shape, kind="stable")
    volume = torch.from_numpy(normalise_intensity(np.transpose(np.asarray(image.array), order)).copy())[None, None]
    patch = tuple(int(n) for n in args.patch.split("x"))
    with torch.inference_mode():
        logits = sliding_window_inference(volume, patch, 1, net, overlap=0.5, mode="gaussian")
    labels = logits.argmax(1)
    print(f"parameters: {sum(p.numel() for p in net.parameters()) / 1e6:.1f} M; labels {tuple(labels.shape[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
