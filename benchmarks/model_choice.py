"""The segmenter a benchmark scores: the shipped model, a model folder or name (``--model``), or a state dict of the
same architecture (``--weights``, e.g. a fold model written by ``disccore train --folds``)."""

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
    net = load_network(info, "cpu")
    if args.weights:
        net.load_state_dict(torch.load(args.weights, map_location="cpu", weights_only=True))
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
