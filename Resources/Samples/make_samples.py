"""Regenerate the bundled synthetic sample exactly (deterministic; see disccore.phantom).

    PYTHONPATH=DiscCore python Resources/Samples/make_samples.py [--overwrite]

Writes, beside this script:
  synthetic_lumbar_t2.nii.gz          T2-like sagittal lumbar MRI, 0.6 x 0.6 x 4 mm, 400 x 400 x 15, int16
  synthetic_lumbar_t2_labels.nii.gz   its exact label map (anatomy scheme values, uint8)
  synthetic_lumbar_t2_labels.json     flat sidecar {"124": "L5-S1", ...}
  synthetic_lumbar_t2_truth.json      ground truth (LPS mm; definitions inside)
The L4-L5 canal is narrowed to 9.5 mm (absolute stenosis) so the sample exercises the stenosis flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
try:
    import disccore  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parents[1] / "DiscCore"))

from disccore.image import SpatialImage, to_sitk  # noqa: E402
from disccore.outputs import atomic_output, write_text_atomic  # noqa: E402
from disccore.phantom import make_lumbar_phantom  # noqa: E402

NAME = "synthetic_lumbar_t2"
INTENSITY_SCALE = 500.0  # stored value = round(relative intensity x 500), int16
PARAMETERS = dict(
    seed=20261122,
    contrast="T2",
    spacing=(0.6, 0.6, 4.0),
    fov=(240.0, 240.0, 60.0),
    levels=("T12", "L1", "L2", "L3", "L4", "L5", "S1"),
    canal_ap_mm={"L4-L5": 9.5},
    noise=0.03,
    bias_field=0.2,
)


def build():
    """(image int16 SpatialImage, labels SpatialImage, label_names {value: name}, truth dict)."""
    ph = make_lumbar_phantom(**PARAMETERS)
    arr = np.clip(np.round(ph.image.array * INTENSITY_SCALE), 0, 32767).astype(np.int16)
    image = SpatialImage(arr, ph.image.geometry)
    truth = dict(ph.truth)
    truth["sample"] = {
        "image": f"{NAME}.nii.gz",
        "labels": f"{NAME}_labels.nii.gz",
        "intensity_scale": INTENSITY_SCALE,
        "generator": "Resources/Samples/make_samples.py",
        "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in PARAMETERS.items()},
    }
    return image, ph.labels, ph.label_names, truth


def _write_nifti(img: SpatialImage, path: Path, overwrite: bool) -> None:
    import SimpleITK as sitk

    with atomic_output(path, overwrite) as tmp:
        sitk.WriteImage(to_sitk(img), str(tmp), True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--overwrite", action="store_true", help="replace existing sample files")
    ap.add_argument("--outdir", type=Path, default=HERE, help="output folder (default: beside this script)")
    args = ap.parse_args(argv)
    image, labels, names, truth = build()
    out = args.outdir
    _write_nifti(image, out / f"{NAME}.nii.gz", args.overwrite)
    _write_nifti(labels, out / f"{NAME}_labels.nii.gz", args.overwrite)
    write_text_atomic(
        out / f"{NAME}_labels.json",
        json.dumps({str(k): v for k, v in sorted(names.items())}, indent=1) + "\n",
        args.overwrite,
    )
    write_text_atomic(out / f"{NAME}_truth.json", json.dumps(truth, indent=1) + "\n", args.overwrite)
    for p in sorted(out.glob(f"{NAME}*")):
        print(f"{p.name}: {p.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
