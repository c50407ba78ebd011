"""What each measurement means, in words built from the named constants; shipped in every JSON result."""

from __future__ import annotations

from .constants import (
    AP_POSITIONS,
    BONY_CANAL_AP_RELATIVE_MM,
    CANAL_PLANES,
    CANAL_PLANES_HALF_SPAN_MM,
    CENTRAL_FRACTION,
    STENOSIS_REFERENCES,
)
from .stenosis import grading_text

_CENTRAL = f"{CENTRAL_FRACTION * 100:g} %"
_RIM = f"{(1 - CENTRAL_FRACTION) * 50:g} %"
_AT = {k: f"{v * 100:g} %" for k, v in AP_POSITIONS.items()}

DEFINITIONS = {
    "coordinates": "Line endpoints are RAS millimetres (3D Slicer world coordinates); computations are done in "
    "physical space (LPS internally) on the voxel grid's real geometry.",
    "local_spine_axis": "From the centroid of the vertebral body above the disc to the centroid of the one below; "
    "when either is missing, the disc's own thinnest principal direction (noted per row).",
    "disc_volume_mm3": "Voxels of the disc segment (all pieces) x voxel volume.",
    "footprint": "The disc projected on the plane perpendicular to the local spine axis (largest connected piece).",
    "disc_height_mm": f"Mean, over the central {_CENTRAL} of the footprint, of the disc's extent along the local axis. "
    f"Central {_CENTRAL}: the footprint shrunk to {_CENTRAL} about its centroid (the middle {_CENTRAL} of its extent "
    f"in every direction, {_RIM} dropped at each rim). Extents are measured with sub-voxel precision on the "
    "trilinearly interpolated mask (inside where occupancy >= 0.5).",
    "disc_height_median_mm": "Median of the same heights.",
    "disc_height_anterior_mm": f"Height at {_AT['anterior']} of the footprint's anteroposterior extent from its "
    f"anterior end, on the mid-sagittal line (through the footprint centroid); middle at {_AT['middle']}, posterior "
    f"at {_AT['posterior']}.",
    "anteroposterior_direction": "From the canal's centre towards the disc centre, perpendicular to the local axis; "
    "the patient's anterior direction when no canal is segmented.",
    "disc_height_index": "disc_height_mm / mean of the two adjacent vertebral bodies' heights (each the mean over the "
    f"central {_CENTRAL} of its own footprint); only when both are segmented.",
    "canal": "The segmented canal is the dural sac (the CSF inside the dura), not the bony canal.",
    "canal_ap_diameter_mm": "Dural sac AP diameter: in the plane through the disc centre perpendicular to the local "
    "axis, the extent of the canal section along the anteroposterior direction through its centroid.",
    "canal_area_mm2": "Dural sac cross-sectional area in the same plane. Both canal values are averaged over "
    f"{CANAL_PLANES} parallel planes within +-{CANAL_PLANES_HALF_SPAN_MM:g} mm of the section plane; with thick "
    "slices crossing the section they are built from the chords measured on each slice's centre plane "
    "(see disccore.measure.canal).",
    "stenosis": f"Stenosis grade from the cut-offs published for the dural sac: {grading_text()}. The "
    f"{BONY_CANAL_AP_RELATIVE_MM:g} mm AP cut-off belongs to the bony canal and is not applied to the sac.",
    "stenosis_criterion": "The cut-offs the level meets (the strictest per quantity), e.g. 'AP < 10 mm; "
    "area < 75 mm2'; empty when none.",
    "stenosis_references": "; ".join(STENOSIS_REFERENCES.values()),
    "vertebra_volume_mm3": "Voxels of the vertebral-body segment x voxel volume.",
    "vertebra_height": "Anterior / middle / posterior heights of the vertebral body, defined as for discs, along its "
    "own local axis (centroids of the neighbouring vertebral bodies, else its thinnest principal direction).",
    "stray_pieces": "Volumes count every voxel; heights and diameters use the largest connected piece (noted).",
    "image_edge": "A structure with voxels on the outermost slice of the label map's grid is noted, with the side "
    "(superior, inferior, left, right, anterior, posterior), as possibly cut off by the field of view: its row is "
    "kept, its volume and heights may be partial.",
    "qc": "Quality flags of the row's structure, then the case's (which put every row in doubt), joined with '; '; "
    "empty when none. Raw signals and thresholds: the 'qc' block of this JSON and disccore.quality.thresholds.",
}
