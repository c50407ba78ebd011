"""The network: a 2D U-Net (MONAI BasicUNet) applied to sagittal slices."""

from __future__ import annotations

DEFAULT_FEATURES = (16, 16, 32, 64, 128, 16)  # feature counts per U-Net level: training's default


def build_network(n_classes: int, features=DEFAULT_FEATURES, in_channels: int = 1, dropout: float = 0.1):
    """A 2D BasicUNet; imports torch/MONAI lazily so that ``import disccore`` stays cheap."""
    from monai.networks.nets import BasicUNet

    return BasicUNet(
        spatial_dims=2, in_channels=in_channels, out_channels=n_classes, features=tuple(features), dropout=dropout
    )
