"""Draw the figures of docs/measurements.md: docs/figures/disc_heights.png and docs/figures/canal_section.png.

Schematic drawings of the definitions (a wedge-shaped disc between two tilted vertebral bodies, the dural sac behind
them), not measurements of an image. Run from the repository root with the project's Python (matplotlib is a
dependency):

    python docs/figures/draw_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse, Polygon

OUT = Path(__file__).resolve().parent
TILT_DEG = 12.0  # sagittal tilt of the local spine axis in the drawing
DISC_AP = 40.0  # footprint AP extent (mm)
DISC_WIDTH = 50.0  # footprint lateral extent (mm)
HEIGHT_MID = 10.0  # disc height at the footprint centre (mm)
WEDGE = 0.12  # mm of height per mm towards anterior
BODY_HEIGHT = 26.0
CANAL_GAP = 3.0  # disc's posterior rim to the sac (mm)
SAC_AP = 13.0
SAC_WIDTH = 17.0
AP_FRACTIONS = {"anterior": 0.10, "middle": 0.50, "posterior": 0.90}
CENTRAL = 0.8
COLOURS = {"body": "#d9a88f", "disc": "#7fa7e0", "sac": "#f5e08a", "axis": "#444444", "line": "#c0392b"}


def frame(tilt_deg: float):
    """(anterior, caudal) unit vectors in the drawing plane (x right = posterior, y up = superior)."""
    t = np.radians(tilt_deg)
    caudal = np.array([np.sin(t), -np.cos(t)])
    anterior = np.array([-np.cos(t), -np.sin(t)])
    return anterior, caudal


def to_xy(a, s, anterior, caudal):
    """Frame coordinates (a anterior, s caudal; mm) -> drawing coordinates."""
    return np.outer(np.atleast_1d(a), anterior) + np.outer(np.atleast_1d(s), caudal)


def height_at(a: float) -> float:
    """Disc height at AP coordinate a (a = 0 at the footprint centre, positive anterior)."""
    return HEIGHT_MID + WEDGE * a


def draw_sagittal(path: Path) -> None:
    ant, cau = frame(TILT_DEG)
    half = DISC_AP / 2
    fig, ax = plt.subplots(figsize=(7.5, 7.0))
    a_rim = np.linspace(-half, half, 50)
    top = [-height_at(a) / 2 for a in a_rim]
    bottom = [height_at(a) / 2 for a in a_rim]
    disc = np.vstack([to_xy(a_rim, top, ant, cau), to_xy(a_rim[::-1], bottom[::-1], ant, cau)])
    ax.add_patch(Polygon(disc, color=COLOURS["disc"], alpha=0.9, label="disc"))
    centres = []
    for sign in (-1, 1):  # body above (-1) and below (+1), endplates on the disc's wedge
        s_near = [sign * height_at(a) / 2 for a in (half, -half)]
        s_far = [s + sign * BODY_HEIGHT for s in s_near]
        corners = np.vstack([to_xy([half, -half], s_near, ant, cau), to_xy([-half, half], s_far[::-1], ant, cau)])
        ax.add_patch(Polygon(corners, color=COLOURS["body"], alpha=0.9, label="vertebral body" if sign < 0 else None))
        centres.append(corners.mean(axis=0))
    for c in centres:
        ax.plot(*c, "k+", ms=12, mew=2)
    axis_line = np.vstack(
        [centres[0] + (centres[0] - centres[1]) * 0.15, centres[1] + (centres[1] - centres[0]) * 0.15]
    )
    ax.plot(axis_line[:, 0], axis_line[:, 1], "--", color=COLOURS["axis"], lw=1.2)
    ax.annotate(
        "local spine axis:\ncentroid of the body above\nto the centroid of the body below",
        axis_line[0],
        xytext=(axis_line[0][0] + 8, axis_line[0][1] + 2),
        fontsize=9,
    )
    for name, frac in AP_FRACTIONS.items():
        a = half - frac * DISC_AP
        h = height_at(a)
        p = to_xy([a, a], [-h / 2, h / 2], ant, cau)
        ax.plot(p[:, 0], p[:, 1], color=COLOURS["line"], lw=2.5)
        label = to_xy(a, -h / 2 - 3.0, ant, cau)[0]
        ax.text(label[0], label[1], f"{name}\n{int(frac * 100)} %", ha="center", fontsize=8, color=COLOURS["line"])
    central = to_xy([-CENTRAL * half, CENTRAL * half], [HEIGHT_MID / 2 + BODY_HEIGHT + 4.0] * 2, ant, cau)
    ax.plot(central[:, 0], central[:, 1], color=COLOURS["axis"], lw=1, marker="|", ms=10)
    mid = central.mean(axis=0)
    ax.text(mid[0], mid[1] - 3.0, "central 80 % of the footprint (mean, median)", ha="center", fontsize=8)
    sac_centre = half + CANAL_GAP + SAC_AP / 2
    sac = np.vstack(
        [
            to_xy([-sac_centre + SAC_AP / 2, -sac_centre - SAC_AP / 2], [s, s], ant, cau)
            for s in (-BODY_HEIGHT, BODY_HEIGHT)
        ]
    )
    ax.add_patch(Polygon(sac[[0, 1, 3, 2]], color=COLOURS["sac"], alpha=0.9, label="dural sac (canal)"))
    ap = to_xy([-sac_centre + SAC_AP / 2, -sac_centre - SAC_AP / 2], [0, 0], ant, cau)
    ax.plot(ap[:, 0], ap[:, 1], color=COLOURS["line"], lw=2.5)
    plane = to_xy([half + 24, -sac_centre - SAC_AP / 2 - 4], [0, 0], ant, cau)
    ax.plot(plane[:, 0], plane[:, 1], ":", color=COLOURS["axis"], lw=1)
    ax.text(ap[1][0] + 1.5, ap[1][1] + 1.5, "sac AP diameter\nin the disc plane", fontsize=8, color=COLOURS["line"])
    ax.text(
        plane[0][0],
        plane[0][1] + 3,
        "disc plane: perpendicular\nto the axis through\nthe disc centre",
        fontsize=8,
        ha="left",
    )
    ax.text(-44, 40, "anterior", fontsize=9, color="#666")
    ax.text(34, 40, "posterior", fontsize=9, color="#666")
    ax.set_title("Mid-sagittal section: disc heights along the local spine axis (schematic)", fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-48, 48)
    ax.set_ylim(-45, 45)
    ax.set_xlabel("mm")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_disc_plane(path: Path) -> None:
    half_ap, half_w = DISC_AP / 2, DISC_WIDTH / 2
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    ax.add_patch(Ellipse((0, 0), DISC_AP, DISC_WIDTH, color=COLOURS["disc"], alpha=0.9, label="disc footprint"))
    ax.add_patch(
        Ellipse((0, 0), CENTRAL * DISC_AP, CENTRAL * DISC_WIDTH, fill=False, ls="--", lw=1.2, label="central 80 %")
    )
    sac_x = half_ap + CANAL_GAP + SAC_AP / 2
    ax.add_patch(
        Ellipse((sac_x, 0), SAC_AP, SAC_WIDTH, color=COLOURS["sac"], alpha=0.9, label="dural sac section (area)")
    )
    ax.plot([-half_ap - 3, sac_x + SAC_AP / 2 + 3], [0, 0], ":", color=COLOURS["axis"], lw=1)
    ax.text(-half_ap - 2, 1.2, "mid-sagittal line", fontsize=8)
    for name, frac in AP_FRACTIONS.items():
        x = -half_ap + frac * DISC_AP
        ax.plot(x, 0, "o", color=COLOURS["line"], ms=5)
        ax.text(x, -3.5, name, ha="center", fontsize=8, color=COLOURS["line"])
    ax.plot([sac_x - SAC_AP / 2, sac_x + SAC_AP / 2], [0, 0], color=COLOURS["line"], lw=2.5)
    ax.text(sac_x, SAC_WIDTH / 2 + 1.5, "AP diameter: along disc centre -> sac centre", ha="center", fontsize=8)
    ax.plot(0, 0, "k+", ms=10, mew=2)
    ax.text(1, 1, "disc centre", fontsize=8)
    ax.set_title("The disc plane (perpendicular to the local spine axis), seen along the axis (schematic)", fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-half_ap - 6, sac_x + SAC_AP / 2 + 6)
    ax.set_ylim(-half_w - 4, half_w + 4)
    ax.set_xlabel("anterior  <-  mm  ->  posterior")
    ax.set_ylabel("lateral (mm)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    plt.switch_backend("Agg")  # files only, no display
    draw_sagittal(OUT / "disc_heights.png")
    draw_disc_plane(OUT / "canal_section.png")
    print(OUT / "disc_heights.png")
    print(OUT / "canal_section.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
