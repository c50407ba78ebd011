"""Segment + measure inside a scene: what the DiscSegmenter / DiscMeasure logics and batch.py share.

- :func:`segment_volume` runs the model out of process on a volume node (see :mod:`.runner`).
- :func:`measure_segmentation_node` turns a segmentation node (+ optional source volume) into a
  label map, measures it with :func:`disccore.measure.measure_segmentation`, and fills a table node,
  a plot chart and line markups.
- :func:`run_case` does one file end to end for batch.py and writes the case's files (those of
  ``disccore run``, at the paths :class:`disccore.pipeline.CaseOutputs` gives).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from disccore.progress import ProgressCallback, report, sub_progress

from .headless import get_scene


@dataclass
class Measurement:
    """What :func:`measure_segmentation_node` produced."""

    result: object  # disccore.measure.MeasurementResult
    table_node: object
    vertebra_table_node: object
    chart_node: object
    lines_folder: Optional[int]
    line_nodes: list = field(default_factory=list)
    ignored_segments: list = field(default_factory=list)
    labels: object = None  # the measured label map (disccore.image.SpatialImage)
    label_names: dict = field(default_factory=dict)

    def review_warning(self) -> str:
        """One line when a quality flag was raised on the case or a level ("" otherwise)."""
        from disccore.quality.review import review_reasons, review_warning

        return review_warning(review_reasons(self.result.to_dict()))

    def summary(self) -> str:
        """One line for the panel: the levels measured, the stenosis grades (the first thing a reader looks for),
        the segments ignored."""
        levels = ", ".join(row.get("level", "?") for row in self.result.discs) or "no disc levels"
        text = f"{len(self.result.discs)} disc level(s) measured ({levels})"
        graded = [f"{row['level']} {row['stenosis']}" for row in self.result.discs if row.get("stenosis")]
        if graded:
            text += f"; dural sac stenosis: {', '.join(graded)}"
        if self.ignored_segments:
            text += f"; segments not in the anatomy scheme ignored: {', '.join(self.ignored_segments)}"
        return text


def segment_volume(
    volume_node,
    segmentation_node=None,
    *,
    model=None,
    device="auto",
    replace=False,
    progress: Optional[ProgressCallback] = None,
    should_cancel=None,
    python=None,
):
    """Segment a volume node out of process; returns ``(segmentation node, SegmentUpdate)``."""
    from .runner import segment_volume_node

    return segment_volume_node(
        volume_node,
        segmentation_node,
        model=model,
        device=device,
        replace=replace,
        progress=progress,
        should_cancel=should_cancel,
        python=python,
    )


def measure_segmentation_node(
    segmentation_node,
    source_volume=None,
    *,
    table_node=None,
    vertebra_table_node=None,
    chart_node=None,
    lines: bool = True,
    progress: Optional[ProgressCallback] = None,
    quality: Optional[dict] = None,
) -> Measurement:
    """Measure a segmentation node; fill (or create) the table, chart and line nodes.

    The label map is taken on the source volume's grid when given, else on the segmentation's
    reference geometry. Lines are placed under the segmentation's parent transform. ``quality``: the model's
    quality report (:attr:`.segmentations.SegmentUpdate.quality`), merged into the rows' ``qc`` cells.
    """
    from disccore.measure import VERTEBRA_COLUMNS, measure_segmentation

    from .lines import show_lines
    from .segmentations import segmentation_to_labelmap
    from .tables import heights_plot, rows_to_table

    report(progress, 0.0, "reading the segmentation")
    labels, names, ignored = segmentation_to_labelmap(segmentation_node, source_volume)
    result = measure_segmentation(labels, names, progress=sub_progress(progress, 0.1, 0.85))
    if quality:
        result.add_quality_report(quality)
    report(progress, 0.9, "filling the table")
    base = segmentation_node.GetName()
    scene = segmentation_node.GetScene() or get_scene()
    table_node = rows_to_table(result.discs, table_node, name=f"{base} disc measurements", scene=scene)
    vertebra_table_node = rows_to_table(
        list(result.vertebrae),
        vertebra_table_node,
        columns=VERTEBRA_COLUMNS,
        name=f"{base} vertebra measurements",
        scene=scene,
    )
    chart_node = heights_plot(table_node, chart_node, name=f"{base} disc heights")
    folder, line_nodes = None, []
    if lines:
        folder, line_nodes = show_lines(
            list(result.lines),
            folder_name=f"{base} measurement lines",
            parent_transform_node=segmentation_node.GetParentTransformNode(),
            scene=scene,
        )
    report(progress, 1.0, "measured")
    return Measurement(result, table_node, vertebra_table_node, chart_node, folder, line_nodes, ignored, labels, names)


def run_case(
    image_path,
    outdir,
    *,
    model=None,
    device="auto",
    overwrite=False,
    python=None,
    progress: Optional[ProgressCallback] = None,
    case: Optional[str] = None,
    scene=None,
):
    """One case through the scene: read -> volume node -> segment (out of process) -> measure -> files.

    Writes the files of ``disccore run`` (:class:`disccore.pipeline.CaseOutputs`): the segmentation with
    Slicer's writer, the CSVs from the table nodes, the JSON and the report picture from the measurement.
    Returns a :class:`disccore.pipeline.CaseResult`. Raises DiscCoreError subclasses; nothing is written for a
    case that fails before its outputs.
    """
    from disccore.io import read_image
    from disccore.measure import write_json
    from disccore.outputs import check_output_path
    from disccore.pipeline import CaseOutputs, CaseResult, case_name
    from disccore.quality.review import review_reasons
    from disccore.report import render_report

    from .segmentations import save_segmentation
    from .tables import write_table_csv
    from .volumes import image_to_volume

    start = time.monotonic()
    image_path, outdir = Path(image_path), Path(outdir)
    case = case or case_name(image_path)
    outputs = CaseOutputs.for_case(outdir, case)
    for path in outputs.all():  # fail fast, before minutes of work
        check_output_path(path, overwrite)
    scene = scene or get_scene()

    report(progress, 0.0, f"{case}: reading")
    image = read_image(image_path)
    volume = image_to_volume(image, name=case, scene=scene)
    segmentation, update = segment_volume(
        volume, model=model, device=device, python=python, progress=sub_progress(progress, 0.02, 0.85)
    )
    segmentation.SetName(f"{case} segmentation")
    save_segmentation(segmentation, outputs.segmentation, overwrite=overwrite)
    report(progress, 0.87, f"{case}: measuring")
    measured = measure_segmentation_node(
        segmentation, volume, lines=True, progress=sub_progress(progress, 0.87, 0.95), quality=update.quality
    )
    write_table_csv(measured.table_node, outputs.discs_csv, overwrite=overwrite)
    write_table_csv(measured.vertebra_table_node, outputs.vertebrae_csv, overwrite=overwrite)
    write_json(measured.result, outputs.json, overwrite=overwrite)
    report(progress, 0.96, f"{case}: drawing the report")
    render_report(
        image, measured.labels, measured.label_names, measured.result, outputs.report_png, overwrite=overwrite
    )
    report(progress, 1.0, f"{case}: done")
    return CaseResult(
        case=case,
        input=image_path,
        ok=True,
        seconds=time.monotonic() - start,
        outputs=outputs,
        disc_rows=list(measured.result.discs),
        review=review_reasons(measured.result.to_dict()),
    )
