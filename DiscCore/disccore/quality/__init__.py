"""The quality report: signals that say how far a case's segmentation and level names can be trusted, and the
flags (short phrases) they raise, so that a wrong level name, merged bodies or a poor segmentation never pass
silently.

- :mod:`.thresholds`: every threshold, named once (to be calibrated on held-out predictions).
- :mod:`.flags`: the phrases, and the checks shared by the segmentation's and the measurement's side.
- :mod:`disccore.segment.quality`: signals from the network's probabilities on the model grid.
- :mod:`disccore.measure.qc`: geometric checks from the measured rows (a segmentation edited by hand too).
- :mod:`.review`: whether a case needs review, and why, from its measurement JSON.
"""

from .thresholds import THRESHOLDS, QualityThresholds

__all__ = ["THRESHOLDS", "QualityThresholds"]
