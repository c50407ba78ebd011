"""The segmenter a benchmark scores: the shipped model, a model folder or name (``--model``), or a state dict of the
same architecture (``--weights``, e.g. a fold model written by ``disccore train --folds``); or its probabilities alone,
to cut with other post-processing values (:func:`probabilities`, :func:`cut`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "DiscCore"))


def add_model_arguments(parser) -> None:
    parser.add_argument("--model", help="a model name or folder (default: the shipped model)")
    parser.add_argument("--weights", help="a state_dict to run in the model's place (same architecture)")
    parser.add_argument("--threads", type=int, default=2)


def network_runner(args):
    """(the network as a CPU backend, the model's info): the model's own weights, or ``--weights`` in their place;
    torch set to ``--threads``."""
    import torch

    from disccore.models import resolve_model
    from disccore.segment import load_network
    from disccore.segment.infer import as_backend

    torch.set_num_threads(args.threads)
    info = resolve_model(args.model)
    state = torch.load(args.weights, map_location="cpu", weights_only=True) if args.weights else None
    net = load_network(info, "cpu", state)
    return as_backend(net, "cpu"), info


def segmenter(args, with_quality: bool = False):
    """A function image (SpatialImage) -> label map (SpatialImage) on the image's grid, or (label map, quality report)
    with ``with_quality``."""
    import torch

    from disccore.image import SpatialImage
    from disccore.segment import _segment_on_model_grid, segment_image_with_quality

    pick = (lambda pair: pair) if with_quality else (lambda pair: pair[0])
    if not args.weights:
        torch.set_num_threads(args.threads)
        return lambda image: pick(segment_image_with_quality(image, model=args.model, device="cpu", backend="torch"))
    runner, info = network_runner(args)

    def run(image):  # exactly what segment_image does after loading its network
        labels, quality = _segment_on_model_grid(runner, image, info, None)
        return pick((SpatialImage(labels, image.geometry), quality))

    return run


def probabilities(args):
    """A function image -> the network's prediction on the model grid (probabilities, geometry, way back), and the
    model's info (its post-processing)."""
    from disccore.segment import context_offsets
    from disccore.segment.infer import predict_on_model_grid

    runner, info = network_runner(args)
    return (lambda image: predict_on_model_grid(runner, image, info.input_spacing_mm, context_offsets(info))), info


def cut(prediction, postprocessing, geometry, **overrides):
    """The label map on the image's grid (``geometry``) that the prediction gives with the model's post-processing,
    some of its values replaced (``overrides``)."""
    import numpy as np

    from disccore.image import SpatialImage
    from disccore.segment.back_to_input import labels_to_input_grid
    from disccore.segment.levels import name_levels

    labels, _ = name_levels(prediction.probs, prediction.geometry, postprocessing, **overrides)
    canonical = labels_to_input_grid(labels.array, prediction.probs, prediction.input_size_2d)
    return SpatialImage(np.ascontiguousarray(prediction.reorientation.from_canonical(canonical)), geometry)
