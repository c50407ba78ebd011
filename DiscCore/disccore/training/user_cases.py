"""A user's corrected cases (image + segmentation pairs in one folder) as training cases.

A case is ``NAME.<image suffix>`` (NIfTI, NRRD, MetaImage) with its segmentation beside it: ``NAME.seg.nrrd`` as
3D Slicer saves it, or the label map ``NAME.seg.nii.gz`` with its JSON sidecar ``NAME.seg.json`` as
``disccore segment -o NAME.seg.nii.gz`` writes it. Segment names follow the anatomy scheme. A structure that is not
segmented in a case is *unknown* there (not background): a user may correct only the vertebral bodies.

Everything is checked before any long work: :func:`find_user_cases` refuses a folder without cases, an image without
a segmentation or the reverse, and :func:`check_user_case` a segmentation on another grid than its image or with
segment names the scheme does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import anatomy
from ..errors import InputError, LabelError
from ..segment.canonical import reorientation_for
from ..segment.classes import BODY, CANAL, DISC, L5_BODY
from ..segment.preprocess import normalise_intensity
from .data import (
    DERIVED_DISC_MARGIN,
    UNKNOWN,
    PreparedCase,
    _ignore_beyond_annotated_column,
    mark_disc_endplate_margin,
)
from .derive import derive_discs_between_bodies

CASES_ENV_VAR = "DISCCORE_USER_CASES_DIR"
SEGMENTATION_SUFFIXES = (".seg.nrrd", ".seg.nii.gz", ".seg.nii")
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
USER_DATASET = "user"  # the dataset name of user cases in training (drawn at weight 1: training.train._case_sampler)


@dataclass(frozen=True)
class UserCase:
    name: str
    image_path: Path
    segmentation_path: Path


def user_cases_dir() -> Path:
    """Where Slicer's "Add to my training cases" saves cases: $DISCCORE_USER_CASES_DIR, else ``cases`` in the
    per-user data folder (beside the user models folder)."""
    import os

    from ..models import user_data_dir

    if os.environ.get(CASES_ENV_VAR):
        return Path(os.environ[CASES_ENV_VAR]).expanduser()
    return user_data_dir() / "cases"


def case_files(case: UserCase) -> list[Path]:
    """The files of a case: image, segmentation, and the JSON sidecar of a NIfTI label map."""
    from ..io import sidecar_path

    files = [case.image_path, case.segmentation_path]
    if not case.segmentation_path.name.lower().endswith(".seg.nrrd"):  # NAME.seg.json beside NAME.seg.nii.gz
        files.append(sidecar_path(case.segmentation_path))
    return [f for f in files if f.is_file()]


def _split_name(path: Path, suffixes) -> str | None:
    lower = path.name.lower()
    for suffix in suffixes:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def find_user_cases(folder, allow_none: bool = False) -> list[UserCase]:
    """The image + segmentation pairs in ``folder`` (sorted by name); InputError for anything unpaired, and for no
    cases at all unless ``allow_none``."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"the cases folder '{root}' does not exist")
    images, segmentations = {}, {}
    for f in sorted(root.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        # a segmentation's suffix (NAME.seg.nii.gz) also ends like an image's, so it is tried first
        for found, suffixes, what in (
            (segmentations, SEGMENTATION_SUFFIXES, "segmentations"),
            (images, IMAGE_SUFFIXES, "images"),
        ):
            name = _split_name(f, suffixes)
            if name is None:
                continue
            if name in found:
                raise InputError(f"case '{name}' has two {what} ({found[name].name}, {f.name})")
            found[name] = f
            break
    if not images and not segmentations and not allow_none:
        raise InputError(
            f"no cases in '{root}': put each image (NAME.nii.gz) beside its segmentation (NAME.seg.nrrd, or "
            "NAME.seg.nii.gz with NAME.seg.json)"
        )
    lonely_images = sorted(set(images) - set(segmentations))
    if lonely_images:
        raise InputError(
            f"image '{images[lonely_images[0]].name}' has no segmentation beside it "
            f"(expected {lonely_images[0]}.seg.nrrd or {lonely_images[0]}.seg.nii.gz)"
        )
    lonely_segs = sorted(set(segmentations) - set(images))
    if lonely_segs:
        raise InputError(
            f"segmentation '{segmentations[lonely_segs[0]].name}' has no image beside it "
            f"(expected {lonely_segs[0]}.nii.gz or another image format)"
        )
    return [UserCase(n, images[n], segmentations[n]) for n in sorted(images)]


def read_user_case(case: UserCase):
    """(image, label map, {value: scheme name}) of a case, checked: same grid, known names, not empty."""
    from ..io import read_image, read_labelmap

    image = read_image(case.image_path)
    try:
        labels, names = read_labelmap(case.segmentation_path)
    except LabelError as exc:
        raise LabelError(f"case '{case.name}': {exc}") from None
    if not labels.geometry.same_grid(image.geometry, tol=1e-3):
        raise InputError(
            f"case '{case.name}': the segmentation '{case.segmentation_path.name}' lies on another voxel grid than "
            f"the image '{case.image_path.name}' (size {labels.geometry.size} vs {image.geometry.size}); save the "
            "segmentation on the image's grid (in Slicer: export it with the image as reference)"
        )
    return image, labels, names


def check_user_case(case: UserCase) -> set[str]:
    """Read and check a case; returns the names of the structures it segments."""
    _, _, names = read_user_case(case)
    return set(names.values())


def prepare_user_case(case: UserCase) -> PreparedCase:
    """The case as a training case (canonical layout, normalised, partial labels).

    Segmented structures are known; every class nothing was segmented for stays unknown. Discs between two segmented
    consecutive bodies are derived when no disc is segmented (as for the public body data); S1 is background (the
    sacrum is not a lumbar body); above and below the segmented part of the column anything may lie.
    """
    image, labels, names = read_user_case(case)
    reo = reorientation_for(image.geometry.direction)
    canon_image = normalise_intensity(reo.to_canonical(image.array))
    canon_labels = np.ascontiguousarray(reo.to_canonical(labels.array))
    spacing = reo.spacing(image.geometry.spacing)
    masks = {names[v]: canon_labels == v for v in names}
    target = np.full(canon_labels.shape, UNKNOWN, dtype=np.int8)
    annotated = set()
    for name, mask in masks.items():
        cls = _class_of(name)
        target[mask] = cls
        if cls:
            annotated.add(cls)
    if DISC not in annotated:
        bodies = {n: m for n, m in masks.items() if anatomy.by_name(n).kind == "vertebra"}
        for mask in derive_discs_between_bodies(bodies, spacing).values():
            target[mask & (target == UNKNOWN)] = DISC
            annotated.add(DISC)
        # derived discs fill the gap between the bodies' outlines, manual ones stop short of it: their rim may be
        # either, as in the parent's last training cycle (else adapting taught thicker discs than the parent's)
        mark_disc_endplate_margin(target, (target == BODY) | (target == L5_BODY), DERIVED_DISC_MARGIN)
    _ignore_beyond_annotated_column(target, spacing)
    return PreparedCase(case.name, USER_DATASET, canon_image, target, annotated, spacing)


def _class_of(name: str) -> int:
    """The network class of a scheme structure (0, background, for S1)."""
    kind = anatomy.by_name(name).kind
    if kind == "disc":
        return DISC
    if kind == "canal":
        return CANAL
    if name == "S1":
        return 0
    return L5_BODY if name == "L5" else BODY


def user_case_checksums(case: UserCase) -> dict:
    """sha256 of the files of a case (for the adapted model's manifest entry)."""
    from ..models import sha256_of

    return {f.name: sha256_of(f) for f in case_files(case)}
