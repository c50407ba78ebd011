"""Whether a segmentation fits in memory, said before it starts (and if it runs out anyway) in one line."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from ..errors import ImageContentError

# Working set, an upper bound fitted to the peak RSS of `disccore segment` (benchmarks/bench_segment.py: 0.35 GB
# for a tiny series, 0.83 GB for 224 x 224 x 77, 1.04 GB for 442 x 442 x 134, 1.38 GB for 512 x 512 x 200 float32):
# per input voxel the label maps both ways and the winning field (float16) and the reading and writing around; per
# model-grid voxel the probabilities of every class and the post-processing's masks and labels.
BYTES_PER_INPUT_VOXEL = 12
BYTES_PER_MODEL_VOXEL = 64
BASE_BYTES = 400 * 2**20


def bytes_needed(input_voxels: int, model_voxels: int) -> int:
    return BASE_BYTES + BYTES_PER_INPUT_VOXEL * input_voxels + BYTES_PER_MODEL_VOXEL * model_voxels


def available_bytes() -> Optional[int]:
    """Memory the system can still give (Linux MemAvailable, else free physical pages), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def too_large(size, needed: int, available: Optional[int]) -> ImageContentError:
    free = f", {available / 2**30:.1f} GB is free" if available is not None else ""
    return ImageContentError(
        f"segmenting this {' x '.join(str(int(n)) for n in size)} image needs about {needed / 2**30:.1f} GB of "
        f"memory{free}; close other programs, or crop or resample the image"
    )


def check_fits(size, model_size) -> None:
    """Raise ImageContentError when the segmentation of an image of ``size`` (model grid ``model_size``) would
    not fit in the memory available now."""
    needed = bytes_needed(int(np.prod(size)), int(np.prod(model_size)))
    available = available_bytes()
    if available is not None and needed > available:
        raise too_large(size, needed, available)


def out_of_memory(size, model_size) -> ImageContentError:
    """The error for a segmentation that ran out of memory after all."""
    return too_large(size, bytes_needed(int(np.prod(size)), int(np.prod(model_size))), available_bytes())
