"""The network's output classes (index 0 is background).

A 2D network sees ~10 cm around each pixel, too little to tell L2 from L3 by itself, so it predicts
*kinds* of structure plus the L5 body (recognisable next to the sacrum); post-processing names every
level by counting from L5 along the spine (see :mod:`disccore.segment.levels`).
"""

from __future__ import annotations

# experiment/s1-class: S1 (the upper part of the first sacral body) as a sixth class, post-processing ignores it
CLASS_NAMES = ("background", "vertebral body", "L5 body", "disc", "canal", "S1 body")
BODY, L5_BODY, DISC, CANAL, S1_BODY = 1, 2, 3, 4, 5
N_CLASSES = len(CLASS_NAMES)
