"""MONAI's 2D BasicUNet rebuilt from plain torch layers, for inference only.

Training builds the network with MONAI (:mod:`.network`). Importing MONAI loads all of its sub-packages,
about 2 s of the 10 s that a whole ``disccore segment`` run may take on a 2-core CPU, so inference builds
the same layers under the same parameter names and loads the trained weights unchanged. A test checks
that both give the same output for the same weights (``Testing/test_segment_unet.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from .network import DEFAULT_FEATURES

NEGATIVE_SLOPE = 0.1  # MONAI BasicUNet's default activation: LeakyReLU(0.1); norm: affine InstanceNorm


class _Convolution(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.adn = nn.Module()
        self.adn.N = nn.InstanceNorm2d(cout, affine=True)

    def forward(self, x):
        return nn.functional.leaky_relu(self.adn.N(self.conv(x)), NEGATIVE_SLOPE)


class _TwoConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.add_module("conv_0", _Convolution(cin, cout))
        self.add_module("conv_1", _Convolution(cout, cout))


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.convs = _TwoConv(cin, cout)

    def forward(self, x):
        return self.convs(nn.functional.max_pool2d(x, 2))


class _UpCat(nn.Module):
    def __init__(self, cin: int, cat: int, cout: int, halves: bool = True):
        super().__init__()
        up = cin // 2 if halves else cin
        self.upsample = nn.Module()
        self.upsample.deconv = nn.ConvTranspose2d(cin, up, 2, stride=2)
        self.convs = _TwoConv(cat + up, cout)

    def forward(self, x, skip):
        x = self.upsample.deconv(x)
        pad = [0, int(skip.shape[-1] != x.shape[-1]), 0, int(skip.shape[-2] != x.shape[-2])]
        if any(pad):  # odd sizes: MONAI pads the upsampled features by replication
            x = nn.functional.pad(x, pad, "replicate")
        return self.convs(torch.cat([skip, x], dim=1))


class BasicUNet2D(nn.Module):
    """Same architecture and ``state_dict`` keys as ``monai.networks.nets.BasicUNet(spatial_dims=2, ...)``."""

    def __init__(self, in_channels: int, out_channels: int, features=DEFAULT_FEATURES):
        super().__init__()
        f = tuple(features)
        self.conv_0 = _TwoConv(in_channels, f[0])
        self.down_1 = _Down(f[0], f[1])
        self.down_2 = _Down(f[1], f[2])
        self.down_3 = _Down(f[2], f[3])
        self.down_4 = _Down(f[3], f[4])
        self.upcat_4 = _UpCat(f[4], f[3], f[3])
        self.upcat_3 = _UpCat(f[3], f[2], f[2])
        self.upcat_2 = _UpCat(f[2], f[1], f[1])
        self.upcat_1 = _UpCat(f[1], f[0], f[5], halves=False)
        self.final_conv = nn.Conv2d(f[5], out_channels, 1)

    def forward(self, x):
        x0 = self.conv_0(x)
        x1 = self.down_1(x0)
        x2 = self.down_2(x1)
        x3 = self.down_3(x2)
        x4 = self.down_4(x3)
        u = self.upcat_4(x4, x3)
        u = self.upcat_3(u, x2)
        u = self.upcat_2(u, x1)
        u = self.upcat_1(u, x0)
        return self.final_conv(u)
