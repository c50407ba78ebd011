"""The rules by which the dural sac's training label is derived (:mod:`.derive`), and the phantoms that go with each.

A recipe names one (``TrainConfig.sac_label``, ``disccore train --sac-label``); the model's manifest entry records it
in its training_config. Kept free of numpy so the command line can list the rules without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SacLabelRule:
    """How the dural sac's training label is cut from the image, and the training phantoms that go with it.

    The sac's posterior end is cut back where it runs into the epidural fat behind it (to ``wall_percentile`` of its
    neighbours' ends over +-``wall_window_mm``, plus a tolerance: derive._without_posterior_spikes). A phantom's root
    layer is labelled sac, so phantoms carry one only where the real labels keep the roots too.
    """

    name: str
    through_grey: bool  # go on from the bright CSF through the grey cord and roots to the dark wall
    wall_window_mm: float
    wall_percentile: float
    phantom_root_layer_share: float  # share of training phantoms with a root layer along the sac's posterior wall
    phantom_dura_share: float  # share of training phantoms whose sac a dark dura walls off from the epidural fat


# The first bright run: it stops at the roots, which a supine patient's cauda equina lays along the sac's posterior
# wall, and at the conus. The fat pads at the disc levels are about 10 mm high and 35 mm apart, so they fill well
# under a third of a 24 mm window. The shipped 3.0.0 learned this rule, with phantoms that had neither roots nor dura.
BRIGHT_RUN = SacLabelRule("bright-run", False, 12.0, 30.0, 0.0, 0.0)
# The sac with its roots (candidate 3.1.0, not shipped: no false stenosis grades on healthy volunteers, but a narrowed
# sac followed less; models/MODEL_CARD.md). A 40 mm window spans a vertebra and a disc, so it holds rows where bone
# (the lamina), not fat, lies behind the sac; the fat pads at the disc levels (10-20 mm high, the sac walked through
# grey into them) stay above its lower fifth (24 mm and the 30th percentile left derived sacs of 20-27 mm at L4-L5 and
# L5-S1 of vb3 images). Half its phantoms carry 1-4 mm of roots, four in five a 0.7-1.5 mm dura.
WITH_ROOTS = SacLabelRule("with-roots", True, 20.0, 20.0, 0.5, 0.8)
SAC_LABEL_RULES = {rule.name: rule for rule in (BRIGHT_RUN, WITH_ROOTS)}
DEFAULT_SAC_LABEL = BRIGHT_RUN.name  # the shipped model's; a retraining that changes it must re-measure the canal
