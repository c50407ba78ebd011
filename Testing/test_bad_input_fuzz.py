"""Fuzz-style sweeps over corrupt headers and odd geometry, and header bombs measured for time and memory.

Each sweep runs in a child Python: a reader that crashes the process (ITK's MetaIO once aborted on a damaged
NDims) or hangs must fail the test, not take pytest down with it. A read may succeed or raise a DiscCoreError
with a one-line message; anything else (another exception, a crash, more than a few seconds) is a defect.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO_ROOT, subprocess_env

#: peak memory (resident) a child may reach while refusing header bombs (the issue's target: under 1 GB)
MAX_BOMB_RSS_MB = 1000
SLOWEST_READ_S = 2.0

_CHILD_PRELUDE = """
import gzip, os, random, resource, sys, time
import numpy as np
from pathlib import Path
from disccore.errors import DiscCoreError
from disccore.image import Geometry, SpatialImage
from disccore.io import read_image, read_labelmap, write_image

folder = Path(sys.argv[1])
problems = []

def attempt(path, reader=read_image):
    start = time.monotonic()
    try:
        reader(path)
    except DiscCoreError as e:
        if "\\n" in str(e) or not str(e):
            problems.append(f"{path.name}: message not one line: {e!r}")
    except Exception as e:
        problems.append(f"{path.name}: {reader.__name__} raised {type(e).__name__}: {str(e)[:120]}")
    if time.monotonic() - start > SLOWEST:
        problems.append(f"{path.name}: {reader.__name__} took {time.monotonic() - start:.1f} s")

def peak_mb():
    # VmHWM belongs to this process's own memory map, new at exec; ru_maxrss is kept across fork and exec on Linux,
    # so a child of a large pytest process would report the parent's size
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def finish():
    print("PEAK_MB", peak_mb())
    print("\\n".join(problems[:20]))
    sys.exit(1 if problems else 0)
"""


def _run_child(body: str, folder, timeout=120) -> subprocess.CompletedProcess:
    code = _CHILD_PRELUDE.replace("SLOWEST", repr(SLOWEST_READ_S)) + textwrap.dedent(body) + "\nfinish()\n"
    env = subprocess_env()
    env["DISCCORE_MAX_VOXELS"] = "20000000"
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_byte_mutations_of_every_format_header(tmp_path):
    """Random bytes changed in the header of a valid NIfTI, NIfTI.gz, NRRD and MHA file (seeded, 100 each)."""
    _run_child(
        """
        rng = random.Random(19)
        arr = np.random.default_rng(0).integers(1, 1000, (12, 10, 6)).astype(np.int16)
        image = SpatialImage(arr, Geometry((12, 10, 6), (0.5, 0.5, 3.0), (1, 2, 3), np.eye(3)))
        for suffix in (".nii", ".nii.gz", ".nrrd", ".mha"):
            raw = write_image(image, folder / f"base{suffix}").read_bytes()
            raw = gzip.decompress(raw) if suffix == ".nii.gz" else raw
            header_end = {".nrrd": raw.find(b"\\n\\n") + 2, ".mha": raw.find(b"ElementDataFile") + 24}.get(suffix, 352)
            for n in range(100):
                b = bytearray(raw)
                for _ in range(rng.randint(1, 4)):
                    new = rng.randrange(256) if rng.random() < 0.6 else rng.choice(b"0-9.e :=\\n")
                    b[rng.randrange(header_end)] = new
                path = folder / f"m{n}{suffix}"
                path.write_bytes(gzip.compress(bytes(b), 1) if suffix == ".nii.gz" else bytes(b))
                attempt(path)
                attempt(path, read_labelmap)
    """,
        tmp_path,
    )


def test_odd_nrrd_geometry_and_fields(tmp_path):
    """NRRD headers built from odd choices: sizes 0 / 1 / negative, unknown types and encodings, zero, NaN, huge
    or missing directions, 2D / 4D, short data."""
    _run_child(
        """
        rng = random.Random(7)
        odd = ["0", "-1", "nan", "inf", "1e308", "1e-30", "abc", ""]

        def directions(dim):
            axes = [0, 1, 2]
            rng.shuffle(axes)
            cols = []
            for a in range(dim):
                v = ["0"] * 3
                v[axes[a % 3]] = str(rng.choice([1, -1]) * rng.choice([0.5, 1, 4.4]))
                if rng.random() < 0.15:
                    v[rng.randrange(3)] = rng.choice(odd)
                cols.append("(" + ",".join(v) + ")")
            if rng.random() < 0.1:
                cols[rng.randrange(dim)] = "none"
            return " ".join(cols)

        for n in range(250):
            dim = rng.choice([3, 3, 3, 2, 4, 1])
            sizes = [rng.choice([0, 1, 2, -3, 100000]) if rng.random() < 0.2 else rng.choice([6, 10, 12])
                     for _ in range(dim)]
            enc = rng.choice(["raw", "gzip", "ascii", "hex", "bzip2"])
            lines = ["NRRD0004", "type: " + rng.choice(["short", "float", "double", "uchar", "int64", "bogus"]),
                     f"dimension: {dim}", "sizes: " + " ".join(map(str, sizes)),
                     "space: " + rng.choice(["left-posterior-superior", "right-anterior-superior", "bogus"]),
                     "space directions: " + directions(dim), "space origin: (" + ",".join(rng.choice(["0", "5"] + odd)
                     for _ in range(3)) + ")", f"encoding: {enc}", "endian: " + rng.choice(["little", "big"])]
            if rng.random() < 0.2:
                del lines[rng.randrange(1, len(lines))]
            n_voxels = int(np.prod([max(s, 1) for s in sizes]))
            body = np.random.default_rng(n).integers(0, 255, min(n_voxels * 8, 100000), dtype=np.uint8).tobytes()
            if rng.random() < 0.3:
                body = body[: rng.randrange(len(body) + 1)]
            body = gzip.compress(body, 1) if enc == "gzip" else body
            body = " ".join(str(v) for v in body[:n_voxels]).encode() if enc == "ascii" else body
            path = folder / f"g{n}.nrrd"
            path.write_bytes(("\\n".join(lines) + "\\n\\n").encode() + body)
            attempt(path)
            attempt(path, read_labelmap)
    """,
        tmp_path,
    )


def test_header_bombs_are_refused_fast_with_little_memory(tmp_path):
    """Headers claiming gigabytes over a few bytes of data, in every format, with the voxel limit at its default."""
    done = _run_child(
        """
        os.environ.pop("DISCCORE_MAX_VOXELS")
        def nrrd(name, sizes, encoding, data=b"", extra=""):
            head = (f"NRRD0004\\ntype: short\\ndimension: 3\\nsizes: {sizes}\\nencoding: {encoding}\\n"
                    f"endian: little\\n{extra}\\n")
            (folder / name).write_bytes(head.encode() + data)
            return folder / name
        def mha(name, sizes, extra="", data_file="LOCAL", data=b""):
            head = (f"ObjectType = Image\\nNDims = 3\\nDimSize = {sizes}\\nElementType = MET_DOUBLE\\n{extra}"
                    f"ElementDataFile = {data_file}\\n")
            (folder / name).write_bytes(head.encode() + data)
            return folder / name
        def nifti(name, shape, data):
            import nibabel as nib
            h = nib.Nifti1Header()
            h.set_data_dtype(np.float64)
            h.set_data_shape(shape)
            raw = h.binaryblock + b"\\0" * 4 + data
            (folder / name).write_bytes(gzip.compress(raw, 1) if name.endswith(".gz") else raw)
            return folder / name
        (folder / "small.raw").write_bytes(b"\\1" * 4096)
        bombs = [
            nrrd("a.nrrd", "1500 1500 1500", "gzip", gzip.compress(b"\\0" * 100)),
            nrrd("b.nrrd", "500 500 500", "gzip", gzip.compress(b"\\0" * 100)),   # under the limit, over the data
            nrrd("c.nrrd", "500 500 500", "raw", b"\\0" * 100),
            nrrd("d.nhdr", "500 500 500", "raw", extra="data file: small.raw\\n"),
            mha("e.mha", "1500 1500 1500", "CompressedData = True\\n", data=b"x\\x9c" + b"\\0" * 50),
            mha("f.mha", "500 500 500", "CompressedData = True\\n", data=b"x\\x9c" + b"\\0" * 50),
            mha("g.mhd", "500 500 500", data_file="small.raw"),
            mha("h.mhd", "500 500 500", data_file="/dev/zero"),
            nifti("i.nii.gz", (500, 500, 500), gzip.compress(b"\\0" * 100)),
            nifti("j.nii", (500, 500, 500), b"\\0" * 100),
            nifti("k.nii.gz", (4000, 4000, 4000), b"\\0" * 100),
        ]
        for path in bombs:
            before = len(problems)
            attempt(path)
            attempt(path, read_labelmap)
            try:
                read_image(path)
                problems.append(f"{path.name}: a header bomb was read")
            except DiscCoreError as e:
                if e.exit_code not in (2, 3):
                    problems.append(f"{path.name}: exit {e.exit_code}")
    """,
        tmp_path,
    )
    peak = float(done.stdout.split("PEAK_MB")[1].split()[0])
    assert peak < MAX_BOMB_RSS_MB, f"peak memory {peak:.0f} MB while refusing header bombs"


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_odd_but_valid_geometry_is_read_exactly(tmp_path, suffix):
    """The other side of the sweep: unusual yet valid geometry (tiny and huge spacing, far origins, oblique and
    left-handed directions) must be read back exactly, not refused."""
    import numpy as np
    from conftest import rotation

    from disccore.image import Geometry, SpatialImage
    from disccore.io import read_image, write_image

    rng = np.random.default_rng(3)
    for n, (spacing, origin, direction) in enumerate(
        [
            ((0.01, 0.01, 0.05), (1e5, -1e5, 3e4), rotation(0, 33)),
            ((10.0, 0.3, 7.5), (0.0, 0.0, 0.0), rotation(2, 90) @ np.diag([1.0, 1.0, -1.0])),
            ((0.43, 0.43, 4.4), (-250.5, 12.25, 80.0), rotation(1, 12) @ rotation(0, -20)),
        ]
    ):
        arr = rng.integers(1, 3000, (9, 8, 5)).astype(np.int16)
        image = SpatialImage(arr, Geometry(arr.shape, spacing, origin, direction))
        back = read_image(write_image(image, tmp_path / f"g{n}{suffix}"))
        np.testing.assert_array_equal(back.array, arr)
        tol = 1e-5 if suffix == ".nii.gz" else 1e-9  # NIfTI stores float32
        np.testing.assert_allclose(back.geometry.ijk_to_lps(), image.geometry.ijk_to_lps(), rtol=tol, atol=tol * 1e5)
