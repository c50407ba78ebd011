"""The numbers that define the measurements, named once.

The definitions shipped with every result (:mod:`disccore.measure.definitions`) and the README's
"Measurement definitions" are built from, or state, these values; change them here only.
"""

from __future__ import annotations

# --- heights of discs and vertebral bodies (disccore.measure.disc)
#: share of the footprint (shrunk about its centroid) over which the mean and median heights are taken
CENTRAL_FRACTION = 0.8
#: where along the footprint's AP extent (from its anterior end) the anterior / middle / posterior heights lie
AP_POSITIONS = {"anterior": 0.10, "middle": 0.50, "posterior": 0.90}
#: in-plane sampling step (mm) of disc footprints
DISC_STEP_MM = 0.5
#: in-plane sampling step (mm) of vertebral-body footprints (bodies are large; heights vary slowly)
VERTEBRA_STEP_MM = 1.0

# --- the canal (dural sac) section at a disc level (disccore.measure.canal)
#: parallel planes whose estimates are averaged, spread evenly over +-CANAL_PLANES_HALF_SPAN_MM along the axis
CANAL_PLANES = 5
CANAL_PLANES_HALF_SPAN_MM = 2.0
#: slices at least this many times thicker than the finest spacing are "thick": chords are measured on them
THICK_SLICE_RATIO = 2.0
#: thick slices whose normal lies within this angle of the spine axis run nearly parallel to the section
#: plane: they do not cut it into chords, and the pixel count is used instead
SLICES_ALONG_SECTION_MAX_DEG = 60.0
#: the slices' chords give the AP diameter only when they cut the section within this angle of the AP direction
SLICE_CHORDS_MAX_ANGLE_DEG = 20.0

# --- stenosis: cut-offs published for the dural sac (what is segmented and measured)
#: dural sac AP diameter below this is an absolute stenosis (Bolender 1985; Steurer 2011)
DURAL_SAC_AP_ABSOLUTE_MM = 10.0
#: dural sac cross-sectional area below these is an absolute / relative stenosis (Schonstrom 1985; Hamanishi 1994)
DURAL_SAC_AREA_ABSOLUTE_MM2 = 75.0
DURAL_SAC_AREA_RELATIVE_MM2 = 100.0
#: the 12 mm AP cut-off of the literature belongs to the *bony* canal; it is deliberately not applied to the sac
BONY_CANAL_AP_RELATIVE_MM = 12.0

STENOSIS_REFERENCES = {
    "Steurer 2011": "Steurer J, Roner S, Gnannt R, Hodler J. Quantitative radiologic criteria for the diagnosis of "
    "lumbar spinal stenosis: a systematic literature review. BMC Musculoskelet Disord 2011;12:175.",
    "Bolender 1985": "Bolender NF, Schonstrom NS, Spengler DM. Role of computed tomography and myelography in the "
    "diagnosis of central spinal stenosis. J Bone Joint Surg Am 1985;67(2):240-246.",
    "Hamanishi 1994": "Hamanishi C, Matukura N, Fujita M, Tomihara M, Tanaka S. Cross-sectional area of the stenotic "
    "lumbar dural tube measured from the transverse views of magnetic resonance imaging. "
    "J Spinal Disord 1994;7(5):388-393.",
    "Schonstrom 1985": "Schonstrom NS, Bolender NF, Spengler DM. The pathomorphology of spinal stenosis as seen on "
    "CT scans of the lumbar spine. Spine 1985;10(9):806-811.",
}
