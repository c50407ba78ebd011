"""The training cases in ../shared/data and their targets in the network's classes.

Every array here is in the canonical layout of :mod:`disccore.segment.canonical` (slices right->left,
rows superior->inferior, columns anterior->posterior). Targets hold class indices of
:mod:`disccore.segment.classes`, or one of three "partially known" codes for the partial-label loss:

- ``UNKNOWN``: background or any class not annotated in this image;
- ``UNKNOWN_OR_CANAL``: the same or canal (outside the region where the canal could be derived);
- ``IGNORE``: anything (next to the column above/below its annotated part, where unannotated levels lie:
  T12 and the L5-S1 disc in MyoSegmenTUM, the bodies above L1 in the disc data...);
- ``DISC_OR_BACKGROUND``: the rim of a derived (or synthetic) disc next to a vertebral body, where a disc filling the
  whole gap between the bodies' outlines and a manual disc, drawn thinner, disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..segment.canonical import reorientation_for
from ..segment.classes import BODY, CANAL, DISC, L5_BODY, N_CLASSES, S1_BODY
from ..segment.preprocess import normalise_intensity
from .derive import derive_canal, derive_discs_between_bodies, derive_s1_below_disc
from .sac_rules import DEFAULT_SAC_LABEL, SAC_LABEL_RULES, SacLabelRule

UNKNOWN = -1
UNKNOWN_OR_CANAL = -2
IGNORE = -3
DISC_OR_BACKGROUND = -4
# the rim (voxels) of a derived disc along the bodies that is DISC_OR_BACKGROUND in the full training's last cycle
# (TrainConfig.disc_endplate_margin) and when fine-tuning a trained model (training.adapt)
DERIVED_DISC_MARGIN = 1
# the datasets whose discs were derived between the manual bodies (filling the gap), and those whose discs a reader drew
DERIVED_DISC_DATASETS = ("vb2", "vb3")
MANUAL_DISC_DATASETS = ("ivd",)
COLUMN_MARGIN_MM = 12.0
BELOW_BAND_MM = 18.0
# the phantoms' dural sac: AP at a healthy disc, at a stenosis (graded, 4-10 mm), and between the discs
PHANTOM_CANAL_AP_MM = (10.0, 18.0)
PHANTOM_STENOSIS_AP_MM = (4.0, 10.0)
PHANTOM_CANAL_BODY_AP_MM = (14.0, 20.0)
# where the sac label rule keeps the roots (sac_rules.SacLabelRule: how many phantoms carry each), a layer of roots
# along the sac's posterior wall, as real sacs have, and a dark dura, as real T2 shows between the CSF and the epidural
# fat (the derived real labels stop at that wall; without it the fat touches the CSF)
PHANTOM_ROOT_LAYER_MM = (1.0, 4.0)
PHANTOM_DURA_MM = (0.7, 1.5)
PHANTOM_DRAWS = 20  # attempts at a valid random anatomy per phantom
# one phantom in five has a wedge fracture of one body above the sacrum, mild to severe (share of anterior height lost)
PHANTOM_FRACTURE_SHARE = 0.2
PHANTOM_FRACTURE_LOSS = (0.2, 0.6)

IVD_DISC_VALUES = {1: "L5-S1", 2: "L4-L5", 3: "L3-L4", 4: "L2-L3", 5: "L1-L2"}
VB3_BODY_VALUES = {1: "L1", 2: "L2", 3: "L3", 4: "L4", 5: "L5"}
VB2_BODIES_CRANIAL_TO_CAUDAL = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")


@dataclass
class Case:
    name: str
    dataset: str  # 'ivd' | 'vb2' | 'vb3'
    image_path: Path
    label_path: Path


@dataclass
class PreparedCase:
    name: str
    dataset: str
    image: np.ndarray  # float32 canonical, normalised
    target: np.ndarray  # int8 canonical class indices / partial codes
    annotated: set = field(default_factory=set)  # classes annotated (manually or derived) in this image
    spacing: np.ndarray = None  # canonical voxel size (mm)
    annotated_slices: np.ndarray = None  # slices with any annotated voxel (filled when first sampled)


def list_cases(data_root) -> list[Case]:
    root = Path(data_root)
    cases = []
    for ds, img_glob, lab_suffix, img_suffix in (
        ("ivd", "ivd/*_t2.nii.gz", "_discs.nii.gz", "_t2.nii.gz"),
        ("vb3", "vb3/*_img.nii.gz", "_vertebrae.nii.gz", "_img.nii.gz"),
        ("vb2", "vb2/*_img.nii.gz", "_vertebrae.nii.gz", "_img.nii.gz"),
    ):
        for img in sorted(root.glob(img_glob)):
            lab = img.with_name(img.name.replace(img_suffix, lab_suffix))
            if lab.exists():
                cases.append(Case(img.name.replace(img_suffix, ""), ds, img, lab))
    return cases


def read_case(case: Case):
    """(image, label map) as SpatialImages, exactly as stored."""
    import SimpleITK as sitk

    from ..image import from_sitk

    return from_sitk(sitk.ReadImage(str(case.image_path))), from_sitk(sitk.ReadImage(str(case.label_path)))


def named_manual_labels(case: Case, labels: np.ndarray, superior_axis_values=None) -> dict[str, np.ndarray]:
    """Structure name -> boolean mask of the manual annotation (any array layout).

    vb2's instance ids are not in anatomical order: its bodies are ordered by height (``superior_axis_values``:
    for each id, a number that grows towards the feet; default: the centroid along array axis 1, which is
    superior->inferior in the canonical layout) and named T11..L5 from the lowest, L5, upwards.
    """
    from scipy import ndimage

    out = {}
    if case.dataset == "ivd":
        for v, n in IVD_DISC_VALUES.items():
            out[n] = labels == v
    elif case.dataset == "vb3":
        for v, n in VB3_BODY_VALUES.items():
            out[n] = labels == v
    else:
        ids = [int(v) for v in np.unique(labels) if v]
        if superior_axis_values is None:
            centroids = ndimage.center_of_mass(np.ones_like(labels), labels, ids)
            superior_axis_values = {i: c[1] for i, c in zip(ids, centroids)}
        ordered = sorted(ids, key=lambda i: superior_axis_values[i])
        names = VB2_BODIES_CRANIAL_TO_CAUDAL[-len(ordered) :]
        for n, i in zip(names, ordered):
            out[n] = labels == i
    return {n: m for n, m in out.items() if m.any()}


def manual_labels_on_file_grid(case: Case, image, labels) -> dict[str, np.ndarray]:
    """Named manual masks on the file's own grid (vb2 bodies ordered by LPS height, not by array axis)."""
    ids = [int(v) for v in np.unique(labels.array) if v]
    depth = {i: -float(image.geometry.index_to_lps(np.argwhere(labels.array == i).mean(0))[2]) for i in ids}
    return named_manual_labels(case, labels.array, depth)


def prepare_case(case: Case, derive_canal_labels: bool = True, sac_label: str = DEFAULT_SAC_LABEL) -> PreparedCase:
    """The case's image and training target in the canonical layout: its manual labels, discs derived between its
    bodies, and the dural sac derived by the rule ``sac_label`` (sac_rules.SAC_LABEL_RULES)."""
    img, lab = read_case(case)
    reo = reorientation_for(img.geometry.direction)
    image = normalise_intensity(reo.to_canonical(img.array))
    labels = np.ascontiguousarray(reo.to_canonical(lab.array))
    spacing = reo.spacing(img.geometry.spacing)
    manual = named_manual_labels(case, labels)

    target = np.full(labels.shape, UNKNOWN, dtype=np.int8)
    annotated = set()
    for name, mask in manual.items():
        cls = DISC if "-" in name else (L5_BODY if name == "L5" else BODY)
        target[mask] = cls
        annotated.add(cls)
    if case.dataset in ("vb2", "vb3"):  # a disc lies between its two vertebrae
        for mask in derive_discs_between_bodies(manual, spacing).values():
            target[mask & (target == UNKNOWN)] = DISC
            annotated.add(DISC)
    _ignore_beyond_annotated_column(target, spacing)
    if derive_canal_labels:
        canal, known_region = derive_canal(image, target > 0, spacing, SAC_LABEL_RULES[sac_label])
        target[(target == UNKNOWN) & ~known_region] = UNKNOWN_OR_CANAL
        if canal.any():
            target[canal & ((target == UNKNOWN) | (target == UNKNOWN_OR_CANAL))] = CANAL
            annotated.add(CANAL)
    else:
        target[target == UNKNOWN] = UNKNOWN_OR_CANAL
    _add_s1(case, target, annotated, manual, spacing)
    return PreparedCase(case.name, case.dataset, image, target, annotated, spacing)


S1_RING_MM = 4.0  # around the S1 label, where the rest of the sacrum lies, anything goes
S1_DISC_NEAR_L5_MM = 3.0  # a reference model's L5-S1 disc counts only if it touches the manual L5 this closely


def _add_s1(case: Case, target, annotated: set, manual: dict, spacing) -> None:
    """experiment/s1-class, in place: S1 below the L5-S1 disc (ivd: the reader's; vb2/vb3: a reference model's,
    from the npz named by $DISCCORE_S1_DISCS, accepted where it touches the manual L5)."""
    import os

    from scipy import ndimage

    if case.dataset == "ivd":
        disc = manual.get("L5-S1")
    else:
        path = os.environ.get("DISCCORE_S1_DISCS")
        disc = np.load(path)[case.name] if path else None
        l5 = manual.get("L5")
        if disc is None or l5 is None or not disc.any():
            return
        near = int(round(S1_DISC_NEAR_L5_MM / min(spacing)))
        if not (ndimage.binary_dilation(l5, iterations=near) & disc).any():
            return
    if disc is None or not disc.any():
        return
    s1 = derive_s1_below_disc(disc, spacing)
    free = (target == UNKNOWN) | (target == UNKNOWN_OR_CANAL) | (target == IGNORE)
    s1 &= free
    if s1.sum() < 200:
        return
    ring = ndimage.binary_dilation(s1, iterations=int(round(S1_RING_MM / min(spacing)))) & ~s1 & free
    target[ring] = IGNORE
    target[s1] = S1_BODY
    annotated.add(S1_BODY)


def with_disc_endplate_margin(case: PreparedCase, width: int) -> PreparedCase:
    """The case with the rim of its derived discs along the manual bodies, ``width`` voxels wide, marked
    DISC_OR_BACKGROUND (a copy; the case itself where it has no derived discs or ``width`` is 0)."""
    from dataclasses import replace

    if width <= 0 or case.dataset not in DERIVED_DISC_DATASETS:
        return case
    target = case.target.copy()
    mark_disc_endplate_margin(target, (target == BODY) | (target == L5_BODY), width)
    return replace(case, target=target, annotated_slices=None)


def mark_disc_endplate_margin(target: np.ndarray, vertebrae: np.ndarray, width: int) -> None:
    """In place: disc voxels within ``width`` voxels of a vertebra, in the sagittal plane, become DISC_OR_BACKGROUND
    (for discs that fill the gap between vertebral outlines; manual discs stop short of them)."""
    if width <= 0 or not vertebrae.any():
        return
    from scipy import ndimage

    in_plane = np.zeros((3, 3, 3), bool)
    in_plane[1] = True  # canonical axis 0 runs across the sagittal slices
    near = ndimage.binary_dilation(vertebrae, structure=in_plane, iterations=width)
    target[near & (target == DISC)] = DISC_OR_BACKGROUND


def _ignore_beyond_annotated_column(target: np.ndarray, spacing) -> None:
    """In place: where unannotated levels may lie next to the column, anything may be there.

    Above the annotated part of the column (T12 in MyoSegmenTUM, L1 in the disc data, ...) everything near
    the column is ignored. Below the lowest annotated structure only a band of BELOW_BAND_MM is ignored (where
    an unannotated L5-S1 disc may lie); the sacrum below it stays "unknown" so that, where bodies are annotated,
    the network learns that the sacrum is not a lumbar body.
    """
    spine = target > 0
    rows = np.nonzero(spine.any(axis=(0, 2)))[0]
    cols = np.nonzero(spine.any(axis=(0, 1)))[0]
    if len(rows) == 0:
        return
    margin = int(round(COLUMN_MARGIN_MM / spacing[2]))
    c0, c1 = max(0, cols.min() - margin), cols.max() + margin + 1
    above = target[:, : rows.min(), c0:c1]
    above[above == UNKNOWN] = IGNORE
    band = int(round(BELOW_BAND_MM / spacing[1]))
    lowest = np.where(spine.any(axis=0), np.arange(target.shape[1])[:, None], -1).max(axis=0)  # per column
    for c in range(c0, min(c1, target.shape[2])):
        r0 = lowest[c] + 1 if lowest[c] >= 0 else rows.max() + 1
        block = target[:, r0 : r0 + band, c]
        block[block == UNKNOWN] = IGNORE


def synthetic_cases(
    n: int, seed: int = 0, disc_endplate_margin: int = 0, sac_label: str = DEFAULT_SAC_LABEL
) -> list[PreparedCase]:
    """Phantoms from :mod:`disccore.phantom` with exact labels for every structure (random anatomy and T1/T2
    contrast, 1 mm in-plane, 3-4.4 mm slices). Their S1 body is background (the sacrum is not a lumbar body). Their
    discs fill the gap between the vertebrae: ``disc_endplate_margin`` as in :func:`with_disc_endplate_margin`. Their
    sacs carry roots and a dura as often as the sac label rule ``sac_label`` says."""
    from .. import anatomy

    rng = np.random.default_rng(seed)
    rule = SAC_LABEL_RULES[sac_label]
    out = []
    for i in range(n):
        ph = _random_phantom(rng, rule)
        reo = reorientation_for(ph.image.geometry.direction)
        image = normalise_intensity(reo.to_canonical(ph.image.array))
        labels = np.ascontiguousarray(reo.to_canonical(ph.labels.array))
        target = np.zeros(labels.shape, np.int8)
        for value in np.unique(labels):
            if value == 0:
                continue
            s = anatomy.by_label(int(value))
            if s.kind == "disc":
                target[labels == value] = DISC
            elif s.kind == "canal":
                target[labels == value] = CANAL
            elif s.name == "S1":
                target[labels == value] = S1_BODY
            else:
                target[labels == value] = L5_BODY if s.name == "L5" else BODY
        vertebrae = np.isin(labels, [v.label for v in anatomy.vertebrae()])
        mark_disc_endplate_margin(target, vertebrae, disc_endplate_margin)
        out.append(
            PreparedCase(
                f"phantom-{i:02d}",
                "phantom",
                image,
                target,
                {BODY, L5_BODY, DISC, CANAL, S1_BODY},
                reo.spacing(ph.image.geometry.spacing),
            )
        )
    return out


def _random_phantom(rng, rule: SacLabelRule):
    """A phantom of random anatomy; a draw the phantom refuses (a disc so thin and wedged that its rim has no height)
    is drawn again, so every seed gives its phantoms."""
    from ..phantom import make_lumbar_phantom

    for _ in range(PHANTOM_DRAWS):
        levels = (
            ("T12", "L1", "L2", "L3", "L4", "L5", "S1") if rng.random() < 0.5 else ("L1", "L2", "L3", "L4", "L5", "S1")
        )
        try:
            return make_lumbar_phantom(
                seed=int(rng.integers(1 << 30)),
                contrast=str(rng.choice(["T1", "T2"])),
                spacing=(1.0, 1.0, float(rng.uniform(3.0, 4.4))),
                levels=levels,
                lordosis_deg=float(rng.uniform(20, 55)),
                disc_heights=float(rng.uniform(6, 13)),
                canal_ap_mm=_phantom_canal_ap(rng, levels),
                canal_body_ap_mm=float(rng.uniform(*PHANTOM_CANAL_BODY_AP_MM)),
                root_layer_mm=_some_of_the_time(rng, rule.phantom_root_layer_share, PHANTOM_ROOT_LAYER_MM),
                dura_mm=_some_of_the_time(rng, rule.phantom_dura_share, PHANTOM_DURA_MM),
                degeneration=_phantom_degeneration(rng, levels),
                fractures=_phantom_fracture(rng, levels),
                noise=float(rng.uniform(0.01, 0.08)),
                bias_field=float(rng.uniform(0, 0.4)),
                tilt_deg=float(rng.uniform(-10, 10)),
                fov=(240.0, 240.0, 48.0),
            )
        except ValueError:
            continue
    raise RuntimeError(f"no valid phantom anatomy in {PHANTOM_DRAWS} draws")


def _disc_names(levels) -> list[str]:
    return [f"{a}-{b}" for a, b in zip(levels[:-1], levels[1:])]


def _phantom_canal_ap(rng, levels) -> dict:
    """{disc: sac AP at the disc}: a healthy width at most discs, graded stenosis at one or two of them."""
    discs = _disc_names(levels)
    ap = {d: float(rng.uniform(*PHANTOM_CANAL_AP_MM)) for d in discs}
    for d in rng.choice(discs, size=int(rng.integers(0, 3)), replace=False):
        ap[str(d)] = float(rng.uniform(*PHANTOM_STENOSIS_AP_MM))
    return ap


def _some_of_the_time(rng, share: float, bounds) -> float:
    """A value drawn uniformly from ``bounds`` in ``share`` of the draws, else 0 (the feature left out)."""
    return float(rng.uniform(*bounds)) if rng.random() < share else 0.0


def _phantom_fracture(rng, levels) -> dict:
    """{body: share of its anterior height lost}: a wedge fracture of one body above the sacrum, in some phantoms."""
    if rng.random() >= PHANTOM_FRACTURE_SHARE:
        return {}
    return {str(rng.choice(levels[:-1])): float(rng.uniform(*PHANTOM_FRACTURE_LOSS))}


def _phantom_degeneration(rng, levels) -> dict:
    """{disc: loss of nucleus signal}: most discs healthy, some dark (degenerated)."""
    return {d: float(rng.uniform(0.5, 1.0)) if rng.random() < 0.3 else 0.0 for d in _disc_names(levels)}


def unannotated_classes(annotated: set) -> list[int]:
    return [c for c in range(1, N_CLASSES) if c not in annotated]
