"""discmrml: the MRML bridge between disccore and 3D Slicer's scene.

Uses ``slicer`` (MRML nodes and logics), ``vtk`` and ``disccore``; never Qt or CTK, so every
function here also runs headless on ``slicer-core`` (PyPI) and in ``Slicer --no-main-window``.

Modules:
- :mod:`.headless`       a scene + application logic when none exists (slicer-core, tests, batch.py)
- :mod:`.volumes`        volume node <-> :class:`disccore.image.SpatialImage` (exact IJK-to-RAS)
- :mod:`.segmentations`  label map <-> segmentation node (scheme names, colours, terminology; keeps user edits)
- :mod:`.tables`         measurement rows -> table node (typed columns, units), plot of heights per level
- :mod:`.lines`          measured lines -> markups line nodes in one subject hierarchy folder
- :mod:`.runner`         out-of-process model inference (``python -m disccore segment``), cancellable
- :mod:`.pipeline`       segment + measure in a scene (shared by the modules and batch.py)
- :mod:`.panels`         binding a module panel to its parameter node on every Slicer version (no Qt import)
- :mod:`.selftest`       cases and brush-like edits the modules' self-tests and Testing/ share

Coordinates: MRML's world frame is RAS (mm); disccore works in LPS (mm). The conversion happens only
through :meth:`disccore.image.Geometry.ijk_to_ras` and :func:`disccore.image.ras_to_lps`, in
:mod:`.volumes`.
"""

__all__ = ["headless", "volumes", "segmentations", "tables", "lines", "runner", "pipeline", "panels", "selftest"]
