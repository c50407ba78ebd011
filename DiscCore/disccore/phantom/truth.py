"""The phantoms' ground truth in closed form (JSON-serialisable, LPS mm) and what each value means."""

from __future__ import annotations

import math

import numpy as np

from ..image import SpatialImage, lps_to_ras
from .model import SpineModel


def _vec(v) -> list:
    return [round(float(x), 6) for x in v]


def _vertebra_truth(v, counts, vox: float) -> dict:
    f = v.frame
    return {
        "label": v.label,
        "centroid_lps": _vec(v.centre),
        "axis_lps": _vec(f.axis),
        "ap_direction_lps": _vec(f.ap),
        "vertebral_body_height_mm": float(v.mid_height),
        # at 10 %, 50 % and 90 % of the AP extent from the front (docs/measurements.md); equal unless fractured
        "vertebral_body_height_anterior_mm": v.height_at(v.centre_shift + 0.8 * v.A),
        "vertebral_body_height_middle_mm": v.height_at(v.centre_shift),
        "vertebral_body_height_posterior_mm": v.height_at(v.centre_shift - 0.8 * v.A),
        "vertebral_body_ap_depth_mm": float(2 * v.A),
        "vertebral_body_width_mm": float(2 * v.W),
        "vertebral_body_volume_mm3": float(math.pi * v.A * v.W * v.mid_height),
        "vertebral_body_volume_voxels_mm3": float(counts[v.label] * vox),
        "voxel_count": int(counts[v.label]),
    }


def build_truth(model: SpineModel, labels: SpatialImage, extra: dict) -> dict:
    vox = labels.geometry.voxel_volume_mm3
    counts = np.bincount(labels.array.ravel(), minlength=256)
    D = model.canal_offset
    rw = model.canal_width / 2.0
    verts = {v.name: _vertebra_truth(v, counts, vox) for v in model.vertebrae if v.label}  # not the sacrum below S1
    discs = {}
    for d in (d for d in model.discs if d.label):
        f = d.frame
        t_bar = 2.0 * d.tan_half * (d.A**2 / 4.0) / d.h_mid  # AP offset of the 3D centroid
        rd = d.canal_ap / 2.0
        lines = {}
        for key, t in (
            ("disc_height_anterior_mm", 0.8 * d.A),
            ("disc_height_middle_mm", 0.0),
            ("disc_height_posterior_mm", -0.8 * d.A),
        ):
            hh = d.half_height(t)
            lines[key] = [_vec(f.point(t, 0, -hh)), _vec(f.point(t, 0, hh))]
        lines["canal_ap_diameter_mm"] = [_vec(f.point(-D + rd, 0, 0)), _vec(f.point(-D - rd, 0, 0))]
        hu, hl = d.upper.mid_height, d.lower.mid_height
        discs[d.name] = {
            "label": d.label,
            "upper_vertebra": d.upper.name,
            "lower_vertebra": d.lower.name,
            "disc_height_mm": float(d.h_mid),
            "disc_height_median_mm": float(d.h_mid),
            "disc_height_anterior_mm": d.height_at(0.8 * d.A),
            "disc_height_middle_mm": d.height_at(0.0),
            "disc_height_posterior_mm": d.height_at(-0.8 * d.A),
            "disc_height_index": float(d.h_mid / ((hu + hl) / 2.0)),
            "disc_wedge_deg": float(d.wedge),
            "disc_volume_mm3": float(math.pi * d.A * d.W * d.h_mid),
            "disc_volume_voxels_mm3": float(counts[d.label] * vox),
            "voxel_count": int(counts[d.label]),
            "disc_ap_depth_mm": float(2 * d.A),
            "disc_width_mm": float(2 * d.W),
            "canal_ap_diameter_mm": float(d.canal_ap),
            "canal_width_mm": float(model.canal_width),
            "canal_area_mm2": float(math.pi * rd * rw),
            "axis_lps": _vec(f.axis),
            "ap_direction_lps": _vec(f.ap),
            "lateral_direction_lps": _vec(f.lat),
            "disc_centre_lps": _vec(f.origin),
            "disc_centroid_lps": _vec(f.point(t_bar, 0, 0)),
            "canal_centre_lps": _vec(f.point(-D, 0, 0)),
            "lines_lps": lines,
        }
    g = labels.geometry
    return {
        "frame": "LPS",
        "units": "mm",
        "definitions": TRUTH_DEFINITIONS,
        "grid": {
            "size": list(g.size),
            "spacing_mm": _vec(g.spacing),
            "origin_lps": _vec(g.origin),
            "direction": [_vec(r) for r in g.direction],
        },
        "voxel_volume_mm3": float(vox),
        "canal_voxel_count": int(counts[model.canal_label]),
        "discs": discs,
        "vertebrae": verts,
        "parameters": extra,
    }


TRUTH_DEFINITIONS = {
    "frame": "all positions and directions are LPS millimetres (x left, y posterior, z superior)",
    "axis_lps": "disc: unit vector from the centroid of the vertebral body below to the one above (the local "
    "spine axis of docs/measurements.md, and the disc's thinnest principal axis); vertebra: the body's own "
    "cylinder axis, pointing superior",
    "ap_direction_lps": "unit vector perpendicular to axis_lps in the mid-sagittal plane, pointing anterior",
    "disc_centre_lps": "centre of the disc footprint on axis_lps at mid-height (the 2D footprint centre)",
    "disc_centroid_lps": "3D centroid of the continuous disc (shifted anteriorly from disc_centre_lps when wedged); "
    "it lies in the same plane perpendicular to axis_lps",
    "disc_height_mm": "mean over the central 80 % of the footprint (the footprint ellipse scaled by 0.8 about its "
    "centre; any centred part gives the same value) of the disc's extent along axis_lps; equals "
    "disc_height_median_mm and disc_height_middle_mm by symmetry",
    "disc_height_anterior_mm": "extent along axis_lps in the mid-sagittal plane at 10 % of the AP extent from the "
    "anterior rim (posterior: 10 % from the posterior rim, middle: at 50 %)",
    "disc_volume_mm3": "volume of the continuous disc = pi * (AP/2) * (width/2) * disc_height_mm",
    "disc_volume_voxels_mm3": "voxels labelled with the disc (label at voxel centre) x voxel volume",
    "disc_height_index": "disc_height_mm / mean vertebral_body_height_mm of the two adjacent bodies",
    "canal_ap_diameter_mm": "in the plane perpendicular to axis_lps through the disc centre, the canal's extent "
    "along -ap_direction_lps (disc centre -> canal centre) through the canal centre",
    "canal_area_mm2": "canal cross-section area in that plane (an exact ellipse: pi/4 * AP * width)",
    "vertebral_body_height_mm": "distance between the body's parallel endplates along its own axis_lps",
    "lines_lps": "endpoints [inferior/anterior, superior/posterior] of the measured lines (LPS); use "
    "disccore.image.lps_to_ras for RAS",
}


def truth_lines_ras(truth_disc: dict) -> dict:
    """The disc row's ``lines_lps`` converted to RAS: {measurement: (start_ras, end_ras)}."""
    return {k: (tuple(lps_to_ras(a)), tuple(lps_to_ras(b))) for k, (a, b) in truth_disc["lines_lps"].items()}
