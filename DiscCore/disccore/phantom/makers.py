"""The phantoms a caller asks for: a lumbar spine, or one wedge-shaped disc between two bodies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .. import anatomy
from ..image import Geometry, SpatialImage
from .model import SpineModel
from .spine import PerLevel, build_spine
from .synthesis import make_grid, synthesize
from .truth import build_truth


@dataclass
class Phantom:
    """A synthetic image, its exact label map and its ground truth.

    ``image``: float32 intensities (relative units, ~0-1.2). ``labels``: uint8 label map on the same
    grid, values from the anatomy scheme. ``label_names``: value -> segment name of the labels present.
    ``truth``: JSON-serialisable dict, see :func:`make_lumbar_phantom`. ``model``: the continuous
    anatomy; :meth:`label_at` evaluates it at arbitrary LPS points (for independent checks).
    """

    image: SpatialImage
    labels: SpatialImage
    label_names: dict
    truth: dict
    model: SpineModel = field(repr=False, default=None)

    def label_at(self, points_lps) -> np.ndarray:
        """Label values of the continuous anatomy at LPS points (..., 3) (same rule as the voxels)."""
        return self.model.label_at(points_lps)

    def disc(self, level: str) -> dict:
        return self.truth["discs"][anatomy.normalize_name(level)]


def make_lumbar_phantom(
    seed: int = 0,
    contrast: str = "T2",
    spacing=(0.5, 0.5, 4.0),
    levels=("L1", "L2", "L3", "L4", "L5", "S1"),
    lordosis_deg: Optional[float] = None,
    disc_heights: PerLevel = None,
    canal_ap_mm: PerLevel = None,
    orientation: str = "sagittal",
    direction=None,
    noise: float = 0.03,
    bias_field: float = 0.2,
    fov=None,
    *,
    disc_wedges_deg: PerLevel = None,
    canal_width_mm: float = 22.0,
    canal_body_ap_mm: float = 17.0,
    root_layer_mm: float = 0.0,
    dura_mm: float = 0.0,
    tilt_deg: float = 0.0,
    degeneration: PerLevel = None,
    fractures: PerLevel = None,
    sacrum_segments: int = 0,
    body_dims: Optional[dict] = None,
    supersample: Optional[int] = None,
    blur_mm: float = 0.35,
    centre_lps=None,
) -> Phantom:
    """A synthetic lumbar MRI with exact ground truth (see the module docstring for the geometry).

    Parameters (lengths in mm, angles in degrees):
      seed: drives texture, nucleus signal, bias field and noise only (not the anatomy).
      contrast: "T2" (CSF and nucleus bright, marrow intermediate) or "T1" (fat/marrow bright, CSF dark).
      spacing: voxel spacing along the i, j, k axes; the largest is the thick (slice) axis.
      levels: consecutive vertebrae cranial -> caudal; a disc is made between each pair.
      lordosis_deg: sum of the disc wedge angles (default 39 deg for L1..S1), distributed like the defaults.
      disc_heights / disc_wedges_deg / canal_ap_mm / degeneration: scalar, per-disc sequence, or
        {disc name: value} dict; disc_heights are mid heights, canal_ap_mm the canal AP diameter in
        each disc's mid-plane (canal_body_ap_mm elsewhere), degeneration the loss of nucleus T2 signal.
      root_layer_mm: a layer of nerve roots this thick along the sac's posterior wall (inside the sac; at most
        half its depth), as the cauda equina lies in a supine patient; 0 leaves three thin roots.
      dura_mm: a dark dura this thick around the sac (outside its label), as on real T2; 0: fat touches the CSF.
      fractures: wedge fractures, {vertebra: share of its anterior height lost} (0.2-0.25 mild, 0.25-0.4 moderate,
        over 0.4 severe, Genant); the spine above turns forward by the body's wedge.
      sacrum_segments / body_dims: the unlabelled sacrum below S1 and bodies' sizes (module docstring).
      orientation / direction: "sagittal" (default; i->P, j->I, k->R), "coronal" or "axial", or an
        explicit 3x3 direction matrix (columns = LPS directions of i, j, k; oblique allowed).
      fov: extent in mm along i, j, k (default 256 x 256 x 60 for sagittal/coronal, 256 x 256 x 240 axial).
      noise: Rician noise sigma relative to the brightest tissue (~1); bias_field: max relative
        amplitude of the smooth multiplicative field; tilt_deg: extra sagittal rotation of the spine.
      centre_lps: grid centre (default: the spine's centre, shifted 12 mm posterior).

    ``truth`` (JSON-serialisable, LPS mm): ``discs`` and ``vertebrae`` {name: row} of closed-form values (heights,
    volumes, canal AP diameter and area, axes, centres and the measured lines; disc_height_mm, canal_ap_diameter_mm,
    vertebral_body_height_mm, ...) and ``definitions``, which states each (:data:`.truth.TRUTH_DEFINITIONS`).
    """
    model = build_spine(
        levels,
        disc_heights=disc_heights,
        disc_wedges=disc_wedges_deg,
        lordosis_deg=lordosis_deg,
        canal_ap=canal_ap_mm,
        canal_body_ap=canal_body_ap_mm,
        canal_width=canal_width_mm,
        root_layer=root_layer_mm,
        dura=dura_mm,
        tilt_deg=tilt_deg,
        degeneration=degeneration,
        fractures=fractures,
        sacrum_segments=sacrum_segments,
        body_dims=body_dims,
    )
    geom = _lumbar_grid(spacing, orientation, direction, fov, centre_lps)
    synthesis = dict(
        seed=seed, contrast=contrast, noise=noise, bias_field=bias_field, supersample=supersample, blur_mm=blur_mm
    )
    params = dict(kind="lumbar", seed=seed, contrast=contrast.upper(), levels=list(levels), noise=noise)
    params.update(bias_field=bias_field, tilt_deg=tilt_deg, sacrum_segments=sacrum_segments or None)
    params = {k: v for k, v in params.items() if v is not None}  # as before the sacrum option where it is not used
    return _finish(model, geom, synthesis, params)


def _lumbar_grid(spacing, orientation, direction, fov, centre_lps) -> Geometry:
    """The lumbar phantom's grid: by default 256 x 256 x 60 mm (240 mm across an axial stack) around a point 12 mm
    posterior of the spine's centre."""
    if fov is None:
        fov = (256.0, 256.0, 240.0) if (direction is None and orientation == "axial") else (256.0, 256.0, 60.0)
    if centre_lps is None:
        centre_lps = np.array([0.0, 12.0, 0.0])
    return make_grid(spacing, orientation, direction, fov, centre_lps)


def make_disc_phantom(
    height_anterior_mm: float = 12.0,
    height_posterior_mm: float = 8.0,
    tilt_deg: float = 0.0,
    spacing=(0.5, 0.5, 4.0),
    direction=None,
    canal_ap_mm: float = 14.0,
    canal_width_mm: float = 20.0,
    *,
    disc_ap_mm: float = 34.0,
    disc_width_mm: float = 46.0,
    vertebral_height_mm: float = 25.0,
    canal_body_ap_mm: Optional[float] = None,
    levels=("L4", "L5"),
    orientation: str = "sagittal",
    fov=(110.0, 110.0, 70.0),
    seed: int = 0,
    contrast: str = "T2",
    noise: float = 0.0,
    bias_field: float = 0.0,
    supersample: Optional[int] = None,
    blur_mm: float = 0.0,
    centre_lps=None,
) -> Phantom:
    """One wedge-shaped disc between two identical vertebral bodies, with a canal; exact truth.

    The disc centre is at the LPS origin. ``height_anterior_mm`` / ``height_posterior_mm`` are the
    heights along the disc axis at 10 % of the AP extent from the anterior / posterior rim in the
    mid-sagittal plane (docs/measurements.md), so the mid height is their mean and the wedge angle follows.
    ``tilt_deg`` tilts the disc axis anteriorly from +S in the sagittal plane. ``canal_ap_mm`` /
    ``canal_width_mm`` describe the canal's elliptic cross-section in the disc's mid-plane; the canal
    has that constant section unless ``canal_body_ap_mm`` is given. ``disc_ap_mm`` / ``disc_width_mm``
    are the footprint diameters (the bodies share them). Noise, bias and blur are off by default.
    The truth has the same layout as :func:`make_lumbar_phantom`'s.
    """
    A, W = disc_ap_mm / 2.0, disc_width_mm / 2.0
    h_mid = (height_anterior_mm + height_posterior_mm) / 2.0
    wedge = 2.0 * math.degrees(math.atan((height_anterior_mm - height_posterior_mm) / (3.2 * A)))
    names = [anatomy.normalize_name(n) for n in levels]
    if len(names) != 2:
        raise ValueError("make_disc_phantom needs exactly two vertebrae (levels=('L4', 'L5'))")
    body = {n: (A, W, float(vertebral_height_mm)) for n in names}
    cb = canal_ap_mm if canal_body_ap_mm is None else canal_body_ap_mm
    model = build_spine(
        names,
        body_dims=body,
        disc_heights=[h_mid],
        disc_wedges=[wedge],
        canal_ap=[canal_ap_mm],
        canal_body_ap=cb,
        canal_width=canal_width_mm,
        first_theta=tilt_deg - wedge / 2.0,
        degeneration=[0.0],
        anchor="disc",
    )
    d = model.discs[0]
    if centre_lps is None:
        centre_lps = d.frame.point(-model.canal_offset / 2.0, 0, 0)
    geom = make_grid(spacing, orientation, direction, fov, centre_lps)
    synthesis = dict(
        seed=seed, contrast=contrast, noise=noise, bias_field=bias_field, supersample=supersample, blur_mm=blur_mm
    )
    params = {
        "kind": "disc",
        "height_anterior_mm": height_anterior_mm,
        "height_posterior_mm": height_posterior_mm,
        "tilt_deg": tilt_deg,
        "canal_ap_mm": canal_ap_mm,
        "canal_width_mm": canal_width_mm,
        "seed": seed,
        "contrast": contrast.upper(),
    }
    return _finish(model, geom, synthesis, params)


def _finish(model, geom, synthesis: dict, params) -> Phantom:
    """The phantom's image and labels on ``geom`` (``synthesis``: the arguments of :func:`synthesize`), with its
    label names and exact truth."""
    image, labels = synthesize(model, geom, **synthesis)
    present = set(np.unique(labels.array).tolist()) - {0}
    names = {v: n for v, n in anatomy.default_label_names().items() if v in present}
    return Phantom(image, labels, names, build_truth(model, labels, params), model)
