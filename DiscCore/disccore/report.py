"""A one-page PNG report: mid-sagittal slice, label overlay, measured lines and a per-level table.

The slice is resampled in physical space (LPS mm), so it displays with the correct physical aspect
whatever the array order or direction matrix: **superior is up and anterior is left**. The
"mid-sagittal" plane is the plane x = const (LPS, i.e. perpendicular to left-right) through the
centroid of the labelled structures (the image centre when there are none), snapped to the nearest
voxel centre along the image axis closest to left-right, so a sagittal series shows a real slice.
Measured lines arrive in RAS (``result.lines[*].start_ras / end_ras``) and are projected onto that
plane. matplotlib is imported inside :func:`render_report` (Agg canvas, no pyplot state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import anatomy
from .errors import LabelError
from .image import SpatialImage, ras_to_lps
from .measure.result import CUT_BY_FIELD_OF_VIEW
from .measure.stenosis import STENOSIS_COLOURS
from .outputs import PathLike, atomic_output, check_output_path

DASH = "\u2014"
TABLE_COLUMNS = (
    ("level", "Level", None),
    ("disc_height_mm", "Height\n(mm)", 1),
    ("disc_volume_mm3", "Volume\n(mm\u00b3)", 0),
    ("canal_ap_diameter_mm", "Canal AP\n(mm)", 1),
    ("stenosis", "Stenosis", None),
)
#: what the stenosis cell says for a level that was measured and meets no cut-off
NO_STENOSIS = "none"
UNLABELLED_GREY = (0.7, 0.7, 0.7)
OVERLAY_ALPHA = 0.38
FOOTNOTE_HEIGHT = 0.05  # of the table's axes: the two lines of the field-of-view footnote
WARNING_WIDTH_CHARS = 62  # the review warning under the table, wrapped to the table's width
WARNING_MAX_LINES = 3
# zlib level of the PNG: 1 encodes a 1200 x 800 report in 0.04 s instead of 0.10 s (level 6) for a file ~20 % larger
PNG_COMPRESS_LEVEL = 1
LINE_ZORDER = 2  # that of plotted lines: above the images, below the level names
_LINE_COLOURS = {"canal": "#00e5ff", "anterior": "#ffd54f", "posterior": "#ff8a65", "middle": "#fff176"}


def _get(obj: Any, key: str, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def table_cells(rows) -> tuple[list[list[str]], Optional[str]]:
    """Cell texts of the report's table, and a footnote when a level is marked: a disc reaching the edge of the
    image (its values may be those of a partial disc, which the picture alone would not tell)."""
    cells, marked = [], False
    for r in rows:
        row = [_cell_text(r, key, dec) for key, _, dec in TABLE_COLUMNS]
        if CUT_BY_FIELD_OF_VIEW in str(_get(r, "notes") or ""):
            row[0] += " *"
            marked = True
        cells.append(row)
    return cells, (f"* reaches the edge of the image:\n{CUT_BY_FIELD_OF_VIEW}" if marked else None)


def _cell_text(row, key: str, decimals: Optional[int]) -> str:
    value = _get(row, key)
    if key == "stenosis" and value == "":
        return NO_STENOSIS
    return format_value(value, decimals)


def stenosis_colours(rows) -> list[Optional[str]]:
    """Per row, the background colour of its stenosis cell (None: no stenosis or not measured)."""
    return [STENOSIS_COLOURS.get(str(_get(r, "stenosis") or "")) for r in rows]


def format_value(value, decimals: Optional[int]) -> str:
    """A table cell: '—' for None / NaN / unparsable, else the number with ``decimals`` places."""
    if value is None:
        return DASH
    if decimals is None:
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return DASH
    if not math.isfinite(v):
        return DASH
    return f"{v:,.{decimals}f}"


def _plane(image: SpatialImage, labels: Optional[SpatialImage]):
    """(x_lps of the display plane, y range, z range) in LPS mm."""
    g = image.geometry
    n = np.array(g.size) - 1
    corners = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])], float)
    c_lps = g.index_to_lps(corners)
    centre = c_lps.mean(0)
    if labels is not None and np.any(labels.array):
        idx = np.argwhere(labels.array > 0).mean(0)
        centre = labels.geometry.index_to_lps(idx)
    # snap to a voxel centre along the image axis closest to left-right
    ax = int(np.argmax(np.abs(g.direction[0, :])))
    ci = g.lps_to_index(centre)
    ci[ax] = np.clip(np.round(ci[ax]), 0, n[ax])
    x = float(g.index_to_lps(ci)[0])
    return x, (c_lps[:, 1].min(), c_lps[:, 1].max()), (c_lps[:, 2].min(), c_lps[:, 2].max())


def _resample_plane(img: SpatialImage, x, ys, zs, order, cval=0.0):
    from scipy import ndimage

    Y, Z = np.meshgrid(ys, zs)  # rows: z (superior first), cols: y (anterior first)
    pts = np.stack([np.full_like(Y, x), Y, Z], axis=-1)
    idx = img.geometry.lps_to_index(pts)
    arr = img.array
    if order == 0:
        ii = np.rint(idx).astype(int)
        inside = np.all((ii >= 0) & (ii < np.array(arr.shape)), axis=-1)
        out = np.zeros(Y.shape, dtype=arr.dtype)
        sel = ii[inside]
        out[inside] = arr[sel[:, 0], sel[:, 1], sel[:, 2]]
        return out
    coords = [idx[..., a] for a in range(3)]
    return ndimage.map_coordinates(arr.astype(np.float32), coords, order=order, mode="constant", cval=cval)


@dataclass
class _View:
    """The display plane x = const (LPS mm), its sampling and the resampled grey slice."""

    x: float
    ys: np.ndarray  # anterior -> posterior (mm)
    zs: np.ndarray  # superior -> inferior (mm)
    px: float  # mm per pixel
    slice: np.ndarray
    window: tuple[float, float]

    @property
    def extent(self) -> tuple:
        """imshow extent: y (A->P) left->right, z bottom->top."""
        px = self.px
        return (self.ys[0] - px / 2, self.ys[-1] + px / 2, self.zs[-1] - px / 2, self.zs[0] + px / 2)


def render_report(
    image: SpatialImage,
    labels: Optional[SpatialImage],
    label_names: Optional[dict],
    result,
    path: PathLike,
    overwrite: bool = False,
    *,
    title: Optional[str] = None,
    max_pixels: int = 700,
) -> Path:
    """Write a PNG report and return its path.

    ``image``/``labels``: SpatialImages (labels may be None or on another grid; both are resampled in
    LPS). ``label_names``: label value -> segment name (default: the anatomy scheme). ``result``: None
    (segmentation only), or an object / dict with ``discs`` (rows with 'level', 'disc_height_mm',
    'disc_volume_mm3', 'canal_ap_diameter_mm', 'stenosis'; None/NaN shown as '—') and ``lines`` (objects / dicts
    with level, measurement, value_mm, start_ras, end_ras in RAS mm). Refuses to overwrite an existing
    file unless ``overwrite``; written atomically.
    """
    final = check_output_path(path, overwrite)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    view = _view(image, labels, max_pixels)
    fig = Figure(figsize=(12.0, 8.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.02, 0.04, 0.58, 0.88])
    _draw_slice(ax, view)
    if labels is not None:
        names = {int(k): str(v) for k, v in (label_names or anatomy.default_label_names()).items()}
        _draw_labels(ax, labels, names, view)
    _draw_lines(ax, list(_get(result, "lines", []) or []), view, float(max(image.geometry.spacing)))
    ax.set_title(title or f"Mid-sagittal slice (x = {view.x:.1f} mm LPS), {view.px:.2f} mm/pixel", fontsize=10)
    tax = fig.add_axes([0.63, 0.04, 0.35, 0.88])
    _draw_table(fig, tax, result, image.geometry.spacing)
    with atomic_output(final, overwrite) as tmp:
        fig.savefig(tmp, format="png", facecolor="white", pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return final


def _view(image: SpatialImage, labels: Optional[SpatialImage], max_pixels: int) -> _View:
    """The mid-sagittal plane sampled at most ``max_pixels`` across, and its grey-level window."""
    x, (y0, y1), (z0, z1) = _plane(image, labels)
    px = float(max(min(image.geometry.spacing), max(y1 - y0, z1 - z0) / max_pixels))
    ys = np.arange(y0, y1 + 1e-6, px)
    zs = np.arange(z1, z0 - 1e-6, -px)  # superior first -> superior up
    sl = _resample_plane(image, x, ys, zs, order=1)
    finite = sl[np.isfinite(sl)]
    lo, hi = np.percentile(finite, [1, 99.5]) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return _View(x, ys, zs, px, sl, (lo, hi))


def _draw_slice(ax, view: _View) -> None:
    """The grey slice with its A / P / S orientation letters, at the correct physical aspect."""
    extent = view.extent
    ax.imshow(
        view.slice,
        cmap="gray",
        vmin=view.window[0],
        vmax=view.window[1],
        extent=extent,
        origin="upper",
        interpolation="bilinear",
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for text, x, ha in (("A", 0.01, "left"), ("P", 0.99, "right"), ("S", 0.5, "center")):
        ax.text(
            x,
            0.995 if text == "S" else 0.99,
            text,
            transform=ax.transAxes,
            color="w",
            va="top",
            ha=ha,
            fontsize=12,
            weight="bold",
        )


def _label_colour(name: Optional[str]) -> tuple:
    """The anatomy scheme's colour of a segment, grey for a name the scheme does not know."""
    if not name:
        return UNLABELLED_GREY
    try:
        return anatomy.by_name(name).color
    except LabelError:
        return UNLABELLED_GREY


def _draw_labels(ax, labels: SpatialImage, names: dict, view: _View) -> None:
    """The label overlay on the plane, each structure but the canal named beside it."""
    from matplotlib import patheffects

    outline = [patheffects.withStroke(linewidth=2.5, foreground="black")]
    lab = _resample_plane(labels, view.x, view.ys, view.zs, order=0)
    rgba = np.zeros(lab.shape + (4,), dtype=np.float32)
    for value in np.unique(lab):
        if value == 0:
            continue
        name = names.get(int(value))
        colour = _label_colour(name)
        m = lab == value
        rgba[m, :3] = colour
        rgba[m, 3] = OVERLAY_ALPHA
        if name == "canal":
            continue
        rr, cc = np.nonzero(m)
        ax.text(
            view.ys[int(cc.min())] - 3.0,
            view.zs[int(round(rr.mean()))],
            name or str(int(value)),
            color=colour,
            fontsize=8,
            ha="right",
            va="center",
            path_effects=outline,
        )
    ax.imshow(rgba, extent=view.extent, origin="upper", interpolation="nearest")


def _draw_lines(ax, lines: list, view: _View, thickest_mm: float) -> None:
    """The measured lines projected on the plane; dashed when they lie off it (more than two slices away).

    One collection per line style and one marker set per colour: a hundred separate Line2D artists took a tenth of
    a second to create and draw."""
    from matplotlib.collections import LineCollection

    segments, colours, styles = [], [], []
    for line in lines:
        try:
            a = ras_to_lps(np.asarray(_get(line, "start_ras"), float))
            b = ras_to_lps(np.asarray(_get(line, "end_ras"), float))
        except (TypeError, ValueError):
            continue
        if a.shape != (3,) or b.shape != (3,) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        meas = str(_get(line, "measurement", ""))
        segments.append([(a[1], a[2]), (b[1], b[2])])
        colours.append(next((c for k, c in _LINE_COLOURS.items() if k in meas), "#ffeb3b"))
        styles.append("--" if max(abs(a[0] - view.x), abs(b[0] - view.x)) > 2.0 * thickest_mm else "-")
    for style in ("-", "--"):
        mine = [i for i, s in enumerate(styles) if s == style]
        if mine:
            lc = LineCollection([segments[i] for i in mine], colors=[colours[i] for i in mine], linewidths=1.4)
            lc.set_linestyle(style)
            lc.set_capstyle("butt")
            lc.set_zorder(LINE_ZORDER)
            ax.add_collection(lc, autolim=False)
    for colour in dict.fromkeys(colours):
        ends = np.array([p for s, c in zip(segments, colours) if c == colour for p in s])
        ax.plot(ends[:, 0], ends[:, 1], ls="none", marker="o", ms=2.5, color=colour)


def _draw_table(fig, tax, result, spacing):
    """The per-level table (stenosis cells coloured by grade) or why there is none; returns the table or None."""
    tax.axis("off")
    tax.set_title(
        f"Per-level measurements\nvoxel {spacing[0]:.2f} x {spacing[1]:.2f} x {spacing[2]:.2f} mm", fontsize=10
    )
    rows = list(_get(result, "discs", []) or [])
    if result is None or not rows:
        message = "segmentation only:\nno measurements" if result is None else "no disc was measured"
        tax.text(0.5, 0.9, message, ha="center", va="top", fontsize=11, transform=tax.transAxes)
        return None
    cells, footnote = table_cells(rows)
    table = tax.table(
        cellText=cells, colLabels=[lbl for _, lbl, _ in TABLE_COLUMNS], loc="upper center", cellLoc="center"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.6)
    for (r, _c), cell in table.get_celld().items():
        if r == 0:
            cell.set_height(cell.get_height() * 1.6)
            cell.set_facecolor("#e0e0e0")
    grade_col = [key for key, _, _ in TABLE_COLUMNS].index("stenosis")
    for r, colour in enumerate(stenosis_colours(rows), start=1):
        if colour:
            table[r, grade_col].set_facecolor(colour)
    box = table.get_window_extent(fig.canvas.get_renderer()).transformed(tax.transAxes.inverted())
    below = box.y0 - 0.01  # just under the table, wherever its rows end
    if footnote:
        tax.text(box.x0, below, footnote, ha="left", va="top", fontsize=8, transform=tax.transAxes)
        below -= FOOTNOTE_HEIGHT
    warning = review_warning(result)
    if warning:
        tax.text(box.x0, below, warning, ha="left", va="top", fontsize=9, color="#b00000", transform=tax.transAxes)
    return table


def review_warning(result) -> Optional[str]:
    """The line under the table of a case that needs review (its first quality flag, wrapped), or None."""
    import textwrap

    from .quality.review import review_reasons, review_warning

    data = result.to_dict() if hasattr(result, "to_dict") else {"qc": _get(result, "qc")}  # or the case's JSON
    text = review_warning(review_reasons(data))
    return "\n".join(textwrap.wrap(text, WARNING_WIDTH_CHARS)[:WARNING_MAX_LINES]) if text else None
