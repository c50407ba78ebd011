"""Training of the segmentation model: data and label derivation, augmentation, loop, cross-validation.

Imports torch/MONAI inside functions only. Reproducible from the repository: ``disccore train``.
"""
