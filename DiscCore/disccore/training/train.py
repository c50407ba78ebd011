"""Training loop, partial-label loss, cross-validation by subject, and model export."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import InputError
from ..progress import ProgressCallback, report
from ..segment.classes import CANAL, CLASS_NAMES, DISC, N_CLASSES
from ..segment.context import DEFAULT_OFFSETS_MM
from ..segment.network import DEFAULT_FEATURES
from .data import (
    DERIVED_DISC_MARGIN,
    DISC_OR_BACKGROUND,
    IGNORE,
    UNKNOWN,
    UNKNOWN_OR_CANAL,
    PreparedCase,
    manual_labels_on_file_grid,
    read_case,
    unannotated_classes,
    with_disc_endplate_margin,
)
from .sac_rules import DEFAULT_SAC_LABEL
from .variants import degenerated_manual_discs, pathology_variants

SYNTHETIC_WEIGHT = 0.5
# How often a dataset is sampled relative to the others (1 when not listed; the public cases replayed while adapting
# to a user's cases, dataset "replay", at TrainConfig.replay_weight).
DATASET_WEIGHTS = {"phantom": SYNTHETIC_WEIGHT}


@dataclass
class TrainConfig:
    iterations: int = 2400
    batch_size: int = 8
    crop: int = 160
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    features: tuple = DEFAULT_FEATURES
    dropout: float = 0.1
    input_spacing_mm: tuple = (1.0, 1.0)
    threads: int = 2
    synthetic_cases: int = 24
    context_offsets_mm: tuple = DEFAULT_OFFSETS_MM
    init_weights: Optional[str] = None  # start the first cycle from these weights instead of at random
    # Later cycles restart the learning-rate schedule from the previous cycle's weights (warm restarts), each with
    # its own sampling seed and phantoms: the loss was still falling at the end of the first cycle.
    cycles: int = 4
    cycle_iterations: int = 1600
    cycle_learning_rate: float = 1e-3
    # From cycle disc_margin_from_cycle (1-based) on, voxels of a derived or synthetic disc this close to a body may
    # be disc or background (DISC_OR_BACKGROUND): such discs fill the gap between the bodies' outlines, the manual
    # ones stop short of it. The earlier cycles learn where discs are from whole gap-filling discs.
    disc_endplate_margin: int = DERIVED_DISC_MARGIN
    disc_margin_from_cycle: int = 4
    # Adaptation (training.adapt): weight of the squared distance of the weights from the initial ones (L2-SP), which
    # keeps a fine-tuned model close to its parent so it does not forget what the user's few cases do not show.
    anchor_weight: float = 0.0
    # Adaptation: how often the public cases replayed (dataset "replay") are drawn relative to the user's cases. The
    # replay keeps what the user's cases do not show (without it one image of the new scanner lost every level name),
    # but its readers' outlines also pull against the user's: at 0.5 the new scanner's other images gained less
    # (models/MODEL_CARD.md, leave-one-dataset-out).
    replay_weight: float = 0.25
    # Adaptation: weight of the distillation term on the replayed slices, the divergence of the network's class
    # probabilities from the initial (parent) network's on the same augmented slice. It keeps the parent's outlines
    # where the replayed labels leave room (derived discs' open rim, unannotated classes) (0: none).
    distill_weight: float = 0.0
    # Each cycle adds one pathology variant per real training case (training.variants: a compressed sac, a lateral
    # curve, degenerated discs), drawn with that cycle's seed.
    pathology_variants: bool = True
    # Each cycle also adds this many degenerated-disc variants of every image with hand-drawn discs (ivd): the random
    # variants above thin mostly derived discs, which fill the whole gap between the bodies (0: none).
    manual_disc_degenerations: int = 0
    # How the dural sac's label is derived on the real images and drawn on the phantoms (derive.SAC_LABEL_RULES); the
    # manifest entry's training_config records it, and adapting a model replays public cases under its rule.
    sac_label: str = DEFAULT_SAC_LABEL


def allowed_classes(target, unannotated, canal_index=CANAL):
    """(B, C, H, W) bool: classes a voxel may belong to given its (partial) annotation.

    Annotated voxels allow their class only; UNKNOWN allows background and every class not annotated in
    that image; UNKNOWN_OR_CANAL also allows the canal (outside the region where it was derived);
    DISC_OR_BACKGROUND allows those two; IGNORE allows everything.
    """
    import torch

    b, h, w = target.shape
    allowed = torch.zeros((b, N_CLASSES, h, w), dtype=torch.bool)
    known = target >= 0
    allowed.scatter_(1, target.clamp_min(0)[:, None], known[:, None])
    unk = (target == UNKNOWN) | (target == UNKNOWN_OR_CANAL)
    marginal = unannotated.clone()  # (B, C) with background set
    allowed |= unk[:, None] & marginal[:, :, None, None]
    allowed[:, canal_index] |= target == UNKNOWN_OR_CANAL
    allowed[:, 0] |= target == DISC_OR_BACKGROUND
    allowed[:, DISC] |= target == DISC_OR_BACKGROUND
    allowed |= (target == IGNORE)[:, None]
    return allowed


def partial_label_loss(logits, target, unannotated, canal_index=CANAL):
    """Marginal cross-entropy (unannotated classes merged with background) + soft Dice on annotated classes."""
    import torch

    allowed = allowed_classes(target, unannotated, canal_index)
    log_all = torch.logsumexp(logits, dim=1)
    log_allowed = torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), dim=1)
    ce = (log_all - log_allowed).mean()
    probs = torch.softmax(logits, dim=1)
    dice_terms = []
    for b in range(target.shape[0]):
        for c in torch.nonzero(~unannotated[b, 1:]).flatten().tolist():
            c = c + 1
            valid = target[b] != IGNORE
            if c == canal_index:
                valid &= target[b] != UNKNOWN_OR_CANAL
            if c == DISC:
                valid &= target[b] != DISC_OR_BACKGROUND
            g = (target[b] == c) & valid
            if g.sum() == 0:
                continue
            p = probs[b, c] * valid
            dice_terms.append(1 - (2 * (p * g).sum() + 1) / (p.sum() + g.sum() + 1))
    dice = torch.stack(dice_terms).mean() if dice_terms else logits.sum() * 0
    return ce + dice


def _unannotated_matrix(cases: list[PreparedCase]):
    import torch

    m = torch.zeros((len(cases), N_CLASSES), dtype=torch.bool)
    for i, c in enumerate(cases):
        m[i, 0] = True
        for u in unannotated_classes(c.annotated):
            m[i, u] = True
    return m


def cycle_config(config: TrainConfig, cycle: int) -> TrainConfig:
    """The settings of training cycle ``cycle`` (0 is the first)."""
    if cycle == 0:
        return config
    return replace(
        config,
        iterations=config.cycle_iterations,
        learning_rate=config.cycle_learning_rate,
        seed=config.seed + cycle,
        init_weights=None,
    )


def disc_margin_in_cycle(config: TrainConfig, cycle: int) -> int:
    """The disc endplate margin (voxels) of training cycle ``cycle`` (0 is the first)."""
    return config.disc_endplate_margin if cycle + 1 >= config.disc_margin_from_cycle else 0


def train_cycles(real: list[PreparedCase], synthetic_for: Callable[[int], list], config: TrainConfig, log=None):
    """``config.cycles`` training cycles, each from the weights the previous one ended with; cycle c trains on
    ``real`` (with that cycle's disc margin), their pathology variants (``config.pathology_variants``), the extra
    degenerated hand-drawn discs (``config.manual_disc_degenerations``) and
    ``synthetic_for(c)``. Identical to chaining single-cycle runs with
    ``init_weights``."""
    net = None
    for c in range(config.cycles):
        prefix = f"cycle {c + 1}/{config.cycles}: " if config.cycles > 1 else ""
        margin = disc_margin_in_cycle(config, c)
        real_c = [with_disc_endplate_margin(p, margin) for p in real]
        seed = cycle_config(config, c).seed
        cases = list(real_c)
        if config.pathology_variants:
            cases += pathology_variants(real_c, seed)
        if config.manual_disc_degenerations:
            cases += degenerated_manual_discs(real_c, config.manual_disc_degenerations, seed)
        cases += synthetic_for(c)
        net = train_network(
            cases,
            cycle_config(config, c),
            log=log and (lambda m, prefix=prefix: log(prefix + m)),
            init_state=None if net is None else net.state_dict(),
        )
    return net


def train_network(
    cases: list[PreparedCase],
    config: TrainConfig,
    progress: Optional[ProgressCallback] = None,
    log=None,
    init_state=None,
):
    """One training cycle on prepared cases, from ``init_state`` (a state dict), ``config.init_weights`` or random
    weights; returns the network (CPU, eval mode)."""
    import torch

    from .augment import sample_slice

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    offsets = tuple(config.context_offsets_mm)
    net, init_state = _initial_network(config, init_state)
    # L2-SP pulls towards the initial weights, so it replaces the decay towards zero
    anchor = None
    if config.anchor_weight > 0 and init_state is not None:
        anchor = [(p, p.detach().clone()) for p in net.parameters()]
    opt = torch.optim.AdamW(
        net.parameters(), lr=config.learning_rate, weight_decay=0.0 if anchor is not None else config.weight_decay
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(config.iterations))
    unannotated = _unannotated_matrix(cases)
    draw = _case_sampler(cases, rng, {**DATASET_WEIGHTS, "replay": config.replay_weight})
    teacher = _frozen_copy(net) if config.distill_weight > 0 and init_state is not None else None
    replayed = np.array([c.dataset == "replay" for c in cases])
    net.train()
    start = time.monotonic()
    running = None
    for it in range(config.iterations):
        idx = [draw() for _ in range(config.batch_size)]
        xs, ts = zip(*(sample_slice(rng, cases[i], config.crop, True, offsets) for i in idx))
        x = torch.stack(xs)
        logits = net(x)
        loss = partial_label_loss(logits, torch.stack(ts), unannotated[idx], CANAL)
        rows = [k for k, i in enumerate(idx) if replayed[i]]
        if teacher is not None and rows:
            loss = loss + config.distill_weight * distillation_loss(logits[rows], teacher, x[rows])
        if anchor is not None:
            loss = loss + config.anchor_weight * sum(((p - p0) ** 2).sum() for p, p0 in anchor)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        running = value if running is None else 0.98 * running + 0.02 * value
        if (it + 1) % 50 == 0 or it + 1 == config.iterations:
            msg = f"iteration {it + 1}/{config.iterations} loss {running:.3f} ({time.monotonic() - start:.0f} s)"
            report(progress, (it + 1) / config.iterations, msg)
            if log:
                log(msg)
    return net.eval()


def _frozen_copy(net):
    """A copy of ``net`` in eval mode (no dropout) whose weights do not train."""
    import copy

    teacher = copy.deepcopy(net).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def distillation_loss(logits, teacher, x):
    """Mean over voxels of KL(teacher || network) between the class probabilities on the slices ``x``."""
    import torch

    with torch.no_grad():
        target = torch.log_softmax(teacher(x), dim=1)
    log_p = torch.log_softmax(logits, dim=1)
    return (target.exp() * (target - log_p)).sum(dim=1).mean()


def _initial_network(config: TrainConfig, init_state):
    """(the network to train, the state it starts from or None): random, ``init_state`` or ``config.init_weights``."""
    import torch

    from ..segment.network import build_network

    net = build_network(N_CLASSES, config.features, in_channels=len(config.context_offsets_mm), dropout=config.dropout)
    if init_state is None and config.init_weights:
        init_state = torch.load(config.init_weights, map_location="cpu", weights_only=True)
    if init_state is not None:
        try:
            net.load_state_dict(init_state)
        except RuntimeError as exc:  # another architecture (e.g. --features) than the weights were trained with
            raise InputError(
                f"the initial weights do not fit a network with features {tuple(config.features)}: "
                f"{str(exc).splitlines()[0]}"
            ) from None
    return net, init_state


def _warmup_cosine(iterations: int):
    """The learning-rate factor per step: linear warm-up over 5 %, then cosine decay to 2 %."""
    warmup = max(1, iterations // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(1, iterations - warmup)))

    return factor


def _case_sampler(cases: list[PreparedCase], rng, dataset_weights: dict):
    """A function drawing a case index: datasets evenly (the 3 disc-annotated images would otherwise be rare), some at
    their ``dataset_weights``, cases within a dataset uniformly."""
    by_ds = {}
    for i, c in enumerate(cases):
        by_ds.setdefault(c.dataset, []).append(i)
    datasets = sorted(by_ds)
    weights = np.array([dataset_weights.get(d, 1.0) for d in datasets])
    weights /= weights.sum()
    return lambda: int(rng.choice(by_ds[datasets[int(rng.choice(len(datasets), p=weights))]]))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = a.sum() + b.sum()
    return float(2 * (a & b).sum() / s) if s else float("nan")


def evaluate_case(net, case, config: TrainConfig) -> dict:
    """Dice per manually annotated structure (not the derived ones) after full inference and level naming."""
    from ..segment.infer import predict_probabilities

    img, lab = read_case(case)
    probs = predict_probabilities(net, img, config.input_spacing_mm, tuple(config.context_offsets_mm))
    return score_probabilities(case, img, lab, probs)


def score_probabilities(case, img, lab, probs) -> dict:
    """Dice per manual structure (and per kind, regardless of level) of the named levels from ``probs``."""
    from .. import anatomy
    from ..segment.levels import name_levels

    pred, _ = name_levels(probs, img.geometry)
    manual = manual_labels_on_file_grid(case, img, lab)
    scores = {name: dice(pred.array == anatomy.by_name(name).label, mask) for name, mask in manual.items()}
    for kind, names in (("bodies", [n for n in manual if "-" not in n]), ("discs", [n for n in manual if "-" in n])):
        if names:
            kind_values = [s.label for s in (anatomy.discs() if kind == "discs" else anatomy.vertebrae())]
            truth = np.any([manual[n] for n in names], axis=0)
            scores[f"any level: {kind}"] = dice(np.isin(pred.array, kind_values), truth)
    return scores


def folds_by_subject(cases, k: int) -> list[int]:
    """Fold of each case: round-robin within each dataset (each subject is one image here)."""
    folds, seen = [], {}
    for c in cases:
        n = seen.get(c.dataset, 0)
        folds.append(n % k)
        seen[c.dataset] = n + 1
    return folds


def export_model(net, out_dir: Path, config: TrainConfig, name: str, version: str, extra: dict) -> Path:
    """Write weights (state_dict) and this model's manifest entry (with sha256) into ``out_dir``."""
    import torch

    from ..models import sha256_of

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "model.pt"
    torch.save({k: v.detach().cpu().clone() for k, v in net.state_dict().items()}, weights)
    entry = {
        "name": name,
        "version": version,
        "file": f"{out_dir.name}/model.pt",
        "sha256": sha256_of(weights),
        "classes": list(CLASS_NAMES),
        "input_spacing_mm": list(config.input_spacing_mm),
        "network": {
            "type": "monai.BasicUNet 2D (sagittal slices)",
            "features": list(config.features),
            "context_offsets_mm": list(config.context_offsets_mm),
        },
        "training_config": asdict(config),
        **extra,
    }
    (out_dir / "entry.json").write_text(json.dumps(entry, indent=1))
    return weights
