"""Tissue classes of the phantoms (numbered by painting priority), their intensities and textures."""

from __future__ import annotations

# Tissue classes, numbered by painting priority: where shapes overlap the higher class wins.
(SOFT, OUTSIDE, FAT, MUSCLE, VESSEL, LIGAMENT, EPIFAT, DURA, BONE, CSF, ROOT, CORTEX, MARROW, ANNULUS, NUCLEUS) = range(
    1, 16
)
N_CLASSES = 16

#: Base intensities per tissue class (relative units; CSF in T2 and fat in T1 are ~1).
INTENSITIES = {
    "T2": {
        SOFT: 0.30,
        OUTSIDE: 0.0,
        FAT: 0.80,
        MUSCLE: 0.20,
        VESSEL: 0.05,
        LIGAMENT: 0.06,
        EPIFAT: 0.72,
        DURA: 0.08,
        BONE: 0.48,
        CSF: 1.00,
        ROOT: 0.32,
        CORTEX: 0.07,
        MARROW: 0.45,
        ANNULUS: 0.22,
        NUCLEUS: 0.85,
    },
    "T1": {
        SOFT: 0.40,
        OUTSIDE: 0.0,
        FAT: 0.95,
        MUSCLE: 0.33,
        VESSEL: 0.10,
        LIGAMENT: 0.06,
        EPIFAT: 0.90,
        DURA: 0.08,
        BONE: 0.62,
        CSF: 0.12,
        ROOT: 0.35,
        CORTEX: 0.07,
        MARROW: 0.72,
        ANNULUS: 0.30,
        NUCLEUS: 0.36,
    },
}
#: Relative amplitude of the smooth texture per class (marrow is mottled, soft tissue heterogeneous).
TEXTURE = {
    SOFT: 0.18,
    FAT: 0.06,
    MUSCLE: 0.12,
    BONE: 0.15,
    MARROW: 0.18,
    EPIFAT: 0.06,
    CSF: 0.02,
    ANNULUS: 0.08,
    NUCLEUS: 0.06,
}

CORTEX_MM = 1.2  # cortical rim of the vertebral bodies
