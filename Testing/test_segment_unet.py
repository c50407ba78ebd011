"""The inference network (plain torch) is MONAI's BasicUNet: same parameter names, same output."""

from __future__ import annotations

import pytest
import torch

from disccore.segment.network import build_network
from disccore.segment.unet import BasicUNet2D


@pytest.mark.parametrize("features", [(16, 16, 32, 64, 128, 16), (8, 16, 16, 32, 32, 8)])
def test_same_weights_give_the_same_output_as_monai(features):
    torch.manual_seed(0)
    monai_net = build_network(5, features, in_channels=3).eval()
    with torch.no_grad():  # non-trivial norm parameters, so a mix-up of layers would show
        for name, p in monai_net.named_parameters():
            if ".adn.N." in name:
                p.copy_(torch.randn_like(p) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    ours = BasicUNet2D(3, 5, features).eval()
    ours.load_state_dict(monai_net.state_dict(), strict=True)
    with torch.inference_mode():
        for shape in ((2, 3, 64, 80), (1, 3, 50, 37)):  # a multiple of 16, and odd sizes (MONAI pads)
            x = torch.randn(shape)
            assert torch.allclose(ours(x), monai_net(x), atol=1e-5), shape
