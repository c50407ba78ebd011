"""The PNG report: written atomically, a valid PNG, never overwriting, correct orientation."""

from __future__ import annotations

import math
import struct
from types import SimpleNamespace

import numpy as np
import pytest

from disccore import anatomy, report
from disccore.errors import OutputError
from disccore.image import lps_to_ras
from disccore.phantom import make_lumbar_phantom

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def phantom():
    return make_lumbar_phantom(spacing=(1.0, 1.0, 4.0), seed=2)


def _stand_in_result(ph):
    """A minimal MeasurementResult stand-in (discs rows + lines in RAS), built from the phantom truth."""
    discs, lines = [], []
    for i, (level, row) in enumerate(ph.truth["discs"].items()):
        discs.append(
            {
                "level": level,
                "disc_height_mm": row["disc_height_mm"],
                "disc_volume_mm3": None if i == 1 else row["disc_volume_voxels_mm3"],
                "canal_ap_diameter_mm": float("nan") if i == 2 else row["canal_ap_diameter_mm"],
            }
        )
        for meas, (a, b) in row["lines_lps"].items():
            lines.append(
                SimpleNamespace(
                    level=level,
                    measurement=meas,
                    value_mm=row[meas],
                    start_ras=tuple(lps_to_ras(a)),
                    end_ras=tuple(lps_to_ras(b)),
                )
            )
    return SimpleNamespace(discs=discs, lines=lines)


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_written_valid_png(phantom, tmp_path):
    out = tmp_path / "case_report.png"
    got = report.render_report(phantom.image, phantom.labels, phantom.label_names, _stand_in_result(phantom), out)
    assert got == out and out.is_file()
    w, h = _png_size(out)
    assert 800 <= w <= 2000 and 500 <= h <= 1600
    assert 20_000 < out.stat().st_size < 3_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["case_report.png"]  # no temporary left behind
    import matplotlib.image as mpimg

    pixels = mpimg.imread(str(out))
    assert pixels.shape[:2] == (h, w) and pixels[..., :3].std() > 0.05  # not blank


def test_report_refuses_to_overwrite(phantom, tmp_path):
    out = tmp_path / "r.png"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputError):
        report.render_report(phantom.image, phantom.labels, phantom.label_names, None, out)
    assert out.read_bytes() == b"keep me"
    report.render_report(phantom.image, phantom.labels, phantom.label_names, None, out, overwrite=True)
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(OutputError):
        report.render_report(phantom.image, phantom.labels, None, None, tmp_path / "missing" / "r.png")


def test_report_variants(phantom, tmp_path):
    """Segmentation only, no labels, a dict result, an empty result, an oblique grid."""
    res = _stand_in_result(phantom)
    as_dict = {"discs": res.discs, "lines": [vars(l) for l in res.lines]}
    report.render_report(phantom.image, None, None, None, tmp_path / "a.png")
    report.render_report(phantom.image, phantom.labels, phantom.label_names, as_dict, tmp_path / "b.png")
    report.render_report(
        phantom.image, phantom.labels, phantom.label_names, SimpleNamespace(discs=[], lines=[]), tmp_path / "c.png"
    )
    a = math.radians(20)
    rot = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    obl = make_lumbar_phantom(
        spacing=(1.2, 1.2, 3.0), direction=rot @ phantom.image.geometry.direction, fov=(280, 280, 90), noise=0
    )
    report.render_report(obl.image, obl.labels, obl.label_names, res, tmp_path / "d.png")
    for n in "abcd":
        _png_size(tmp_path / f"{n}.png")


def test_a_disc_at_the_edge_of_the_image_is_marked_in_the_table(phantom, tmp_path):
    from disccore.measure.result import grid_edge_note

    res = _stand_in_result(phantom)
    res.discs[0]["notes"] = f"{grid_edge_note(['superior'])}; no T11 segmented: axis from the disc's own shape"
    cells, footnote = report.table_cells(res.discs)
    assert cells[0][0] == f"{res.discs[0]['level']} *" and "field of view" in footnote
    assert all(not row[0].endswith("*") for row in cells[1:])
    assert report.table_cells(res.discs[1:])[1] is None
    report.render_report(phantom.image, phantom.labels, phantom.label_names, res, tmp_path / "edge.png")
    _png_size(tmp_path / "edge.png")


def test_display_plane_orientation(phantom):
    """The resampled slice is mid-sagittal with superior up and anterior left, whatever the array order."""
    x, (y0, y1), (z0, z1) = report._plane(phantom.image, phantom.labels)
    assert abs(x) < 1e-6  # the spine's midline is x = 0 LPS
    ys = np.arange(y0, y1, 1.0)
    zs = np.arange(z1, z0, -1.0)
    lab = report._resample_plane(phantom.labels, x, ys, zs, order=0)

    def centre(name):
        rr, cc = np.nonzero(lab == anatomy.by_name(name).label)
        return rr.mean(), cc.mean()

    assert centre("L1")[0] < centre("L3")[0] < centre("S1")[0]  # superior is up (smaller row)
    assert centre("L3-L4")[1] < centre("canal")[1]  # anterior is left (smaller column)
    # the same plane from an axial array gives the same picture
    ax = make_lumbar_phantom(spacing=(1.0, 1.0, 4.0), orientation="axial", fov=(80, 200, 240), noise=0)
    lab2 = report._resample_plane(ax.labels, x, ys, zs, order=0)
    agree = np.mean((lab2 == lab)[lab > 0])
    assert agree > 0.9


@pytest.mark.parametrize(
    "value,dec,text",
    [
        (None, 1, "\u2014"),
        (float("nan"), 1, "\u2014"),
        ("x", 1, "\u2014"),
        (8.04, 1, "8.0"),
        (12345.6, 0, "12,346"),
        ("L4-L5", None, "L4-L5"),
    ],
)
def test_format_value(value, dec, text):
    assert report.format_value(value, dec) == text


def test_the_stenosis_grade_is_shown_and_coloured_per_level(phantom, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure

    res = _stand_in_result(phantom)
    grades = ["", "relative", "absolute", None, ""]
    for row, grade in zip(res.discs, grades):
        row["stenosis"] = grade
    cells, _ = report.table_cells(res.discs)
    col = [key for key, _, _ in report.TABLE_COLUMNS].index("stenosis")
    assert [r[col] for r in cells] == ["none", "relative", "absolute", "\u2014", "none"]
    fig = Figure()
    FigureCanvasAgg(fig)
    table = report._draw_table(fig, fig.add_subplot(), res, (1.0, 1.0, 4.0))
    faces = [table[r + 1, col].get_facecolor() for r in range(len(grades))]
    assert faces[1] == to_rgba(report.STENOSIS_COLOURS["relative"])
    assert faces[2] == to_rgba(report.STENOSIS_COLOURS["absolute"])
    assert faces[0] == faces[3] == faces[4] == to_rgba("white")
    report.render_report(phantom.image, phantom.labels, phantom.label_names, res, tmp_path / "graded.png")
    _png_size(tmp_path / "graded.png")


def test_an_unknown_segment_name_is_drawn_grey():
    assert report._label_colour("not-a-structure") == report.UNLABELLED_GREY
    assert report._label_colour(None) == report.UNLABELLED_GREY
    assert report._label_colour("L4") == anatomy.by_name("L4").color


def test_every_measured_line_is_drawn_dashed_when_off_the_plane(phantom):
    """The lines go into one collection per style (solid on the displayed plane, dashed off it), each end marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    view = report._view(phantom.image, phantom.labels, 700)
    on = SimpleNamespace(
        measurement="disc_height_mm", start_ras=lps_to_ras([view.x, 0, 0]), end_ras=lps_to_ras([view.x, 0, 9])
    )
    off = SimpleNamespace(
        measurement="canal_ap", start_ras=lps_to_ras([view.x + 20, 5, 0]), end_ras=lps_to_ras([view.x + 20, 25, 0])
    )
    broken = SimpleNamespace(measurement="canal_ap", start_ras=(float("nan"), 0, 0), end_ras=(0, 0, 0))
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    report._draw_lines(ax, [on, off, broken, on], view, 4.0)
    collections = [c for c in ax.collections if isinstance(c, LineCollection)]
    solid, dashed = sorted(collections, key=lambda c: c.get_linestyle()[0][1] is not None)
    assert len(solid.get_segments()) == 2 and len(dashed.get_segments()) == 1
    assert np.allclose(dashed.get_segments()[0], [[5, 0], [25, 0]])
    assert sum(len(line.get_xdata()) for line in ax.lines) == 6  # both ends of the three drawable lines
