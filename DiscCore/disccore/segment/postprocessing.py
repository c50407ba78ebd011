"""The post-processing parameters tuned for a model, stored with it (its manifest entry's "postprocessing").

Training writes the defaults below into each new model's entry; inference reads them back, and a key an older
manifest lacks takes its default. Each value was chosen or judged on a model's held-out predictions (see
models/MODEL_CARD.md, Validation); the naming rules that follow from anatomy rather than from a model's output stay
named constants beside the code that uses them (:mod:`.column`, :mod:`.naming`, :mod:`.trimming`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostProcessing:
    """How the named levels are cut from one model's class probabilities (0 for the four outline values keeps the
    arg-max structures)."""

    # The arg-max body reaches 1-3 mm past the manual outline (held-out precision 0.74, recall 0.94, worst at the
    # lateral edges): a body keeps the voxels the network is this sure of, then the sagittal slices where its section
    # is at least this share of its widest (manual bodies, outlined on thick sagittal slices, end laterally in a flat
    # cut where the network's outline tapers off). Chosen on the 2.2.0 fold models' held-out predictions.
    body_trim_probability: float = 0.85
    body_section_share: float = 0.4
    # L5 alone keeps only the voxels the network is surer of: on the 3.0.0 fold models' held-out images L5's Dice
    # rose with this threshold up to about 0.93-0.95 while L1-L4's did not (chosen on fold 0, also with a T1-like
    # look, where 0.93 was best; checked on folds 1 and 2: models/MODEL_CARD.md).
    l5_body_trim_probability: float = 0.93
    # The arg-max disc runs wide in the same way, mostly at its lateral ends (partial volume of thick slices; manual
    # discs stop before): a disc keeps the slices where each neighbouring body's section is at least this share of its
    # widest (chosen on the 2.1.0 fold models' held-out disc images), then the voxels the network is this sure of: 0.85
    # on the 3.0.0 fold models' hand-drawn discs (chosen on fold 0, checked on folds 1 and 2 and with a T1-like look),
    # where 0.7, the value before, left the discs about one voxel too high (mean height +0.35 mm; now +0.14 mm).
    disc_trim_probability: float = 0.85
    disc_section_share: float = 0.3
    # How L5-like a body is: the network's L5 share of its body probability. Below this best score there is no clear
    # L5 (the lowest body is taken as L5, with a warning); bodies at least l5_tie_fraction of the best are candidates
    # for L5 and the highest wins (the L5 signal also lights up sacral pieces below). Tuned on 2.0.0 fold models.
    l5_anchor_min_score: float = 0.35
    l5_tie_fraction: float = 0.8
    # A body this many times the median size of its neighbours is two bodies joined where the disc was missed. On the
    # 3.0.0 fold models' held-out images single bodies reached 1.35, bodies joined to the next (or to the top of S1,
    # or to T10 above the labels) 1.58-2.14.
    merged_factor: float = 1.5

    @classmethod
    def from_manifest(cls, entry: dict) -> PostProcessing:
        """The parameters in a manifest entry's "postprocessing" section; a missing key takes its default, an
        unknown one raises TypeError (a damaged manifest)."""
        return cls(**{k: float(v) for k, v in entry.items()})
