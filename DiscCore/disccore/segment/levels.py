"""From class probabilities to named levels: the steps chained.

The column's bodies are found (:mod:`.column`), L5 recognised and the others named by counting upwards from it, each
disc by the bodies around it (:mod:`.naming`), and every named structure cut to where the network is sure of it
(:mod:`.trimming`) with the model's parameters (:mod:`.postprocessing`). The canal is the largest canal piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import anatomy
from ..image import SpatialImage
from .classes import BODY, CANAL, DISC, L5_BODY
from .column import column_bodies, on_the_column, rejoin_split_l5
from .masks import components, left_right_axis, most_probable_class, pieces
from .naming import (
    NAMES_UP_FROM_L5,
    l5_sized_without_disc_below,
    lumbar_like_below_l5,
    name_bodies,
    name_discs,
    sacrum_at_lower_edge,
)
from .postprocessing import PostProcessing
from .trimming import body_outline, trimmed, within_its_vertebrae

MIN_DISC_MM3 = 150.0  # smaller disc pieces are noise
MIN_CANAL_MM3 = 300.0  # the same for the canal (of what remains, the largest piece is the canal)


@dataclass
class LevelReport:
    """What the level naming did (for messages and notes): whether L5 was recognised, one phrase per piece set
    aside, and the hints of transitional anatomy: bodies below L5 that look lumbar rather than sacral (a disc above
    and below), and L5-sized ones below L5 with no disc below (a sacralised L5 counted as the sacrum?)."""

    anchored_on_l5: bool = True
    dropped: list = field(default_factory=list)
    lumbar_like_below_l5: int = 0
    l5_sized_without_disc_below: int = 0
    sacrum_at_lower_edge: bool = False  # an image that may end inside L5 (naming.sacrum_at_lower_edge)

    def summary(self) -> str:
        """What was set aside, each kind once with its count: "a disc not between two named vertebrae (2), ..."."""
        counts = {d: self.dropped.count(d) for d in self.dropped}
        return ", ".join(d if n == 1 else f"{d} ({n})" for d, n in counts.items())


def name_levels(
    probs: np.ndarray, geometry, params: PostProcessing | None = None, **overrides
) -> tuple[SpatialImage, LevelReport]:
    """Label map (uint8, anatomy-scheme values) from class probabilities (C, i, j, k) on ``geometry``.

    ``params``: the model's post-processing (default: :class:`PostProcessing`'s values); ``overrides``: some of its
    fields replaced (e.g. ``body_section_share=0.0``)."""
    params = replace(params or PostProcessing(), **overrides)
    voxel = geometry.voxel_volume_mm3
    sem = most_probable_class(probs)
    rep = LevelReport()
    disc_lab, disc_ids, _ = components(sem == DISC, int(MIN_DISC_MM3 / voxel))
    discs = list(pieces(disc_lab, disc_ids).values())
    disc_centres = [d.centre(geometry) for d in discs]
    disc_z = [float(c[2]) for c in disc_centres]
    bodies, rep.dropped = column_bodies((sem == BODY) | (sem == L5_BODY), disc_lab > 0, disc_z, probs, geometry, params)
    # which body has a disc below it (L5 does, the sacrum not)
    disc_sizes = [d.voxels for d in discs]
    bodies = rejoin_split_l5(bodies, on_the_column(disc_centres, disc_sizes, bodies), probs, geometry, params)
    column_disc_z = on_the_column(disc_centres, disc_sizes, bodies)
    named_bodies, rep.anchored_on_l5, dropped = name_bodies(
        bodies, column_disc_z, params.l5_anchor_min_score, params.l5_tie_fraction
    )
    rep.lumbar_like_below_l5 = lumbar_like_below_l5(bodies, named_bodies, column_disc_z)
    rep.l5_sized_without_disc_below = l5_sized_without_disc_below(bodies, named_bodies, column_disc_z)
    rep.sacrum_at_lower_edge = sacrum_at_lower_edge(bodies, named_bodies, dropped, sem.shape, geometry)
    named_discs, dropped_discs = name_discs(discs, {n: b.z for n, b in named_bodies.items()}, geometry)
    rep.dropped += dropped + dropped_discs
    out = np.zeros(sem.shape, np.uint8)
    axis = left_right_axis(geometry)
    p_body = probs[BODY] + probs[L5_BODY]
    sections = {}  # per named body: its voxels in each sagittal slice (the discs' lateral limit)
    for name, b in named_bodies.items():
        trim = params.l5_body_trim_probability if name == NAMES_UP_FROM_L5[0] else params.body_trim_probability
        body = body_outline(b.piece, p_body, trim, params.body_section_share, axis)
        out[body.box][body.mask] = anatomy.by_name(name).label
        sections[name] = body.sections(axis, out.shape[axis])
    for name, disc in named_discs.items():
        disc = within_its_vertebrae(disc, name, sections, axis, params.disc_section_share)
        disc = trimmed(disc, probs[DISC], params.disc_trim_probability)
        out[disc.box][disc.mask] = anatomy.by_name(name).label
    canal_lab, canal_ids, sizes = components(sem == CANAL, int(MIN_CANAL_MM3 / voxel))
    if canal_ids:
        out[canal_lab == max(canal_ids, key=lambda i: sizes[i])] = anatomy.canal().label
    return SpatialImage(out, geometry), rep
