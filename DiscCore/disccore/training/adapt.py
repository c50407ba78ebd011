"""Adapt a model to a site from the user's corrected cases (``disccore adapt``), offline, in minutes on a CPU.

The parent model (the shipped one by default) is fine-tuned on the user's cases (:mod:`.user_cases`) with the
training augmentation and the partial-label loss, so a case where only the bodies were corrected teaches only the
bodies. Two guards against forgetting what the few cases do not show: the weights are pulled towards the parent's
(L2-SP, ``anchor_weight``), and, when the public training data is given (``data``; ``disccore adapt`` finds
../shared/data by itself, :func:`public_data_folder`), some of its cases are replayed (in a fifth of the draws).
Derived discs (between the user's bodies, and in the replayed body cases) keep the rim along the bodies open to disc
or background, as the parent's last training cycle did (:data:`.data.DERIVED_DISC_MARGIN`).
A share of the user's cases is held out first (each case in turn when there are few) and Dice per structure is
reported before and after on them; the model written is then fine-tuned on all cases. Deterministic for a seed.
The parent model is never modified: the result is a new model folder (:mod:`.model_folder`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import ModelError
from ..models import SOURCE_TREE, resolve_model
from ..progress import ProgressCallback, report, sub_progress
from ..segment.classes import CLASS_NAMES
from .user_cases import find_user_cases, prepare_user_case, read_user_case

MIN_CASES_FOR_HOLDOUT = 5  # below this every case is held out in turn (leave-one-out)
NOT_PREDICTED = ("S1",)  # structures a user may segment that the network has no class for: not scored
KIND_NAMES = {"vertebra": "vertebral bodies", "disc": "discs", "canal": "canal"}
PUBLIC_DATA_ENV = "DISCCORE_PUBLIC_DATA"  # the public training data's folder, where it is not beside the checkout
PUBLIC_DATA_BESIDE = Path("..") / "shared" / "data"  # where a checkout keeps it (README), from the working directory


@dataclass(frozen=True)
class AdaptConfig:
    iterations: int = 300
    learning_rate: float = 3e-4
    anchor_weight: float = 0.01
    batch_size: int = 8
    crop: int = 160
    seed: int = 0
    threads: int = 2
    replay_cases: int = 6  # public training cases mixed in when their folder is given
    replay_weight: float = 0.25  # how often they are drawn relative to the user's cases (TrainConfig.replay_weight)
    distill_weight: float = 0.0  # the replayed slices' pull towards the parent's probabilities (TrainConfig)
    holdout_share: float = 0.2  # share of the user's cases held out for validation (at least one)


@dataclass
class Adaptation:
    """What an adaptation did: the network, its parent, the cases and the validation."""

    net: object
    parent: object  # ModelInfo
    cases: list
    config: AdaptConfig
    validation: dict
    seconds: float
    replayed: list  # the public training cases replayed (names), empty without replay


def validation_folds(n: int, config: AdaptConfig) -> list[list[int]]:
    """Held-out case indices of each validation run: none for one case, each case in turn below
    MIN_CASES_FOR_HOLDOUT, else one random share (seeded)."""
    if n < 2:
        return []
    if n < MIN_CASES_FOR_HOLDOUT:
        return [[i] for i in range(n)]
    k = max(1, int(round(config.holdout_share * n)))
    order = np.random.default_rng(config.seed).permutation(n)
    return [sorted(int(i) for i in order[:k])]


def train_config_for(parent, config: AdaptConfig):
    """The training settings of a fine-tuning cycle of ``parent`` (its architecture, the adaptation's schedule)."""
    from .train import TrainConfig

    return TrainConfig(
        iterations=config.iterations,
        batch_size=config.batch_size,
        crop=config.crop,
        learning_rate=config.learning_rate,
        seed=config.seed,
        threads=config.threads,
        features=tuple(parent.network.get("features", TrainConfig.features)),
        context_offsets_mm=tuple(parent.network.get("context_offsets_mm", TrainConfig.context_offsets_mm)),
        input_spacing_mm=tuple(parent.input_spacing_mm),
        synthetic_cases=0,
        cycles=1,
        disc_endplate_margin=0,
        anchor_weight=config.anchor_weight,
        replay_weight=config.replay_weight,
        distill_weight=config.distill_weight,
        sac_label=parent_sac_label(parent),
    )


def parent_sac_label(parent) -> str:
    """The sac label rule the parent model learned (sac_rules; models trained before the rule was recorded learned
    the first bright run), so the replayed public cases teach the sac as the parent knows it."""
    from ..errors import ModelError
    from .sac_rules import BRIGHT_RUN, SAC_LABEL_RULES

    label = parent.entry.get("training_config", {}).get("sac_label", BRIGHT_RUN.name)
    if label not in SAC_LABEL_RULES:
        raise ModelError(f"model '{parent.name}' learned a sac label rule this version does not know ('{label}')")
    return label


def adapt(
    cases_dir,
    parent_name: Optional[str] = None,
    config: AdaptConfig = AdaptConfig(),
    data=None,
    progress: Optional[ProgressCallback] = None,
    log: Callable = lambda m: None,
) -> Adaptation:
    """Check the cases, validate (before / after on held-out cases), and fine-tune on all of them."""
    import torch

    start = time.monotonic()
    cases = find_user_cases(cases_dir)
    parent = resolve_model(parent_name)
    if tuple(parent.classes) != tuple(CLASS_NAMES):
        raise ModelError(
            f"model '{parent.name}' predicts {list(parent.classes)}; only models with the classes "
            f"{list(CLASS_NAMES)} can be adapted"
        )
    report(progress, 0.0, f"reading {len(cases)} cases")
    prepared = [prepare_user_case(c) for c in cases]  # reads and checks every case before any training
    train_config = train_config_for(parent, config)
    replay = replay_cases(data, config, log, train_config.sac_label) if data else []
    parent_state = torch.load(parent.path, map_location="cpu", weights_only=True)
    folds = validation_folds(len(cases), config)
    runs = len(folds) + 1
    validation = {"held_out": [], "before": {}, "after": {}}
    for f, held in enumerate(folds):
        train = [p for i, p in enumerate(prepared) if i not in held] + replay
        net = _fine_tune(
            train,
            train_config,
            parent_state,
            sub_progress(progress, f / runs, (f + 1) / runs),
            f"validation {f + 1}/{len(folds)}",
        )
        _score_held_out([cases[i] for i in held], parent, parent_state, net, validation)
    net = _fine_tune(
        prepared + replay, train_config, parent_state, sub_progress(progress, 1 - 1 / runs, 1.0), "final model"
    )
    validation["summary"] = summarise_validation(validation)
    log(f"adapted in {time.monotonic() - start:.0f} s")
    replayed = [p.name for p in replay]
    return Adaptation(net, parent, cases, config, validation, time.monotonic() - start, replayed)


def _fine_tune(cases, train_config, parent_state, progress, what: str):
    from .train import train_network

    return train_network(cases, train_config, progress=_with_time_left(progress, what), init_state=parent_state)


def _with_time_left(progress: Optional[ProgressCallback], what: str) -> Optional[ProgressCallback]:
    """A progress callback whose messages add the time left, extrapolated from the elapsed time."""
    if progress is None:
        return None
    start = time.monotonic()

    def _report(fraction: float, message: str) -> None:
        left = (time.monotonic() - start) * (1 - fraction) / max(fraction, 1e-6)
        progress(fraction, f"{what}: {message.split(' loss')[0]}, about {left / 60:.1f} min left")

    return _report


def public_data_folder(given=None) -> Optional[Path]:
    """The public training data to replay: ``given``, else the folder named by DISCCORE_PUBLIC_DATA, else
    ../shared/data from the working directory or beside this checkout (where the README puts it); None if none
    holds training cases."""
    from .data import list_cases

    if given:
        return Path(given)
    env = os.environ.get(PUBLIC_DATA_ENV)
    for folder in [Path(env)] if env else [PUBLIC_DATA_BESIDE, SOURCE_TREE / PUBLIC_DATA_BESIDE]:
        if folder.is_dir() and list_cases(folder):
            return folder.resolve()
    return None


def replay_cases(data, config: AdaptConfig, log: Callable, sac_label: str) -> list:
    """``config.replay_cases`` public training cases (spread over the datasets, seeded), as dataset 'replay', their sac
    derived by the rule ``sac_label`` (the parent's)."""
    from .data import DERIVED_DISC_MARGIN, list_cases, prepare_case, with_disc_endplate_margin

    available = list_cases(data)
    if not available:
        log(f"no public training cases in '{data}': adapting without replay")
        return []
    log(f"replaying {min(config.replay_cases, len(available))} public training cases from {data}")
    order = np.random.default_rng(config.seed).permutation(len(available))
    by_dataset: dict[str, list] = {}
    for i in order:
        by_dataset.setdefault(available[i].dataset, []).append(available[i])
    chosen = []
    while len(chosen) < config.replay_cases and any(by_dataset.values()):
        for queue in by_dataset.values():
            if queue and len(chosen) < config.replay_cases:
                chosen.append(queue.pop(0))
    # the derived discs' rim as in the parent's last cycle (keyed on the case's own dataset, so before the rename)
    prepared = [prepare_case(c, sac_label=sac_label) for c in chosen]
    return [replace(with_disc_endplate_margin(p, DERIVED_DISC_MARGIN), dataset="replay") for p in prepared]


def segment_with(net, parent, image) -> np.ndarray:
    """The label map (anatomy-scheme values) a network gives for ``image``, post-processed as at inference."""
    from ..segment import context_offsets
    from ..segment.infer import predict_probabilities
    from ..segment.levels import name_levels

    probs = predict_probabilities(net, image, parent.input_spacing_mm, context_offsets(parent))
    labels, _ = name_levels(probs, image.geometry)
    return labels.array


def _network_from(parent, state):
    from ..segment.network import build_network

    net = build_network(
        len(CLASS_NAMES),
        tuple(parent.network["features"]),
        in_channels=len(parent.network.get("context_offsets_mm", (0.0,))),
    )
    net.load_state_dict(state)
    return net.eval()


def _score_held_out(cases, parent, parent_state, net, validation: dict) -> None:
    before = _network_from(parent, parent_state)
    for case in cases:
        image, labels, names = read_user_case(case)
        validation["held_out"].append(case.name)
        validation["before"][case.name] = dice_per_structure(segment_with(before, parent, image), labels.array, names)
        validation["after"][case.name] = dice_per_structure(segment_with(net, parent, image), labels.array, names)


def dice_per_structure(predicted: np.ndarray, truth: np.ndarray, names: dict) -> dict:
    """Dice of each structure the user segmented ({value: scheme name} in ``names``), by name."""
    from .. import anatomy
    from .train import dice

    return {
        name: dice(predicted == anatomy.by_name(name).label, truth == value)
        for value, name in names.items()
        if name not in NOT_PREDICTED
    }


def summarise_validation(validation: dict) -> dict:
    """Mean Dice per kind of structure (vertebral bodies, discs, canal) before and after, over the held-out cases."""
    from .. import anatomy

    out = {}
    for when in ("before", "after"):
        per_kind: dict[str, list] = {}
        for scores in validation[when].values():
            for name, d in scores.items():
                per_kind.setdefault(KIND_NAMES[anatomy.by_name(name).kind], []).append(d)
        out[when] = {kind: round(float(np.nanmean(v)), 4) for kind, v in sorted(per_kind.items())}
    return out
