"""Check that two `disccore run` (or `disccore batch`) output folders hold the same results: a speed change must not
change a label or a measurement.

Segmentations (.seg.nrrd, .nii.gz) must have equal voxels, size, spacing, origin and direction; CSV and JSON files
must be byte for byte equal; the report PNGs are not compared (the picture may be drawn differently). Folders are
walked recursively; a file only one side has is a difference. Exit status 0 when all agree, 1 otherwise.

    git stash; python -m disccore run IMAGE -o before/ ...; git stash pop; python -m disccore run IMAGE -o after/ ...
    python benchmarks/same_outputs.py before/ after/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SEGMENTATION_SUFFIXES = (".seg.nrrd", ".nii.gz", ".nrrd")
TEXT_SUFFIXES = (".csv", ".json")


def same_segmentation(a: Path, b: Path) -> bool:
    import numpy as np
    import SimpleITK as sitk

    x, y = sitk.ReadImage(str(a)), sitk.ReadImage(str(b))
    return (
        x.GetSize() == y.GetSize()
        and x.GetSpacing() == y.GetSpacing()
        and x.GetOrigin() == y.GetOrigin()
        and x.GetDirection() == y.GetDirection()
        and np.array_equal(sitk.GetArrayViewFromImage(x), sitk.GetArrayViewFromImage(y))
    )


def compared_files(folder: Path) -> set:
    return {
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith(SEGMENTATION_SUFFIXES + TEXT_SUFFIXES)
    }


def differences(before: Path, after: Path) -> list[str]:
    """One line per file that differs or is missing on one side."""
    a, b = compared_files(before), compared_files(after)
    out = [f"only in {before}: {p}" for p in sorted(a - b)] + [f"only in {after}: {p}" for p in sorted(b - a)]
    for rel in sorted(a & b):
        if rel.name.endswith(SEGMENTATION_SUFFIXES):
            same = same_segmentation(before / rel, after / rel)
        else:
            same = (before / rel).read_bytes() == (after / rel).read_bytes()
        if not same:
            out.append(f"differs: {rel}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    found = differences(args.before, args.after)
    for line in found:
        print(line)
    n = len(compared_files(args.before) | compared_files(args.after))
    print(f"{n} files compared: " + ("all the same" if not found else f"{len(found)} differ"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
