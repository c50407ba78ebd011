"""disccore batch: worker processes, resume, a summary kept current, interruptions, refusals that create nothing.

Most tests run the stand-in case function of batch_cases.py (fast; misbehaves on demand); the last one runs the
real model on two copies of the bundled sample and checks --workers 2 gives exactly what --workers 1 gives.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path

import pytest
from batch_cases import calls, disc_rows, fake_case

from disccore.batch import ResumedResult, run_batch
from disccore.cli.main import main
from disccore.errors import Cancelled, InputError, OutputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "Resources" / "Samples" / "synthetic_lumbar_t2.nii.gz"


@pytest.fixture
def calls_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("BATCH_CALLS_LOG", str(log))
    return log


def _inputs(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.nii.gz").write_bytes(b"stand-in image " + name.encode())
    return folder


def _summary(outdir: Path, drop=("seconds",)) -> list:
    with open(outdir / "summary.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def _leftovers(outdir: Path) -> list:
    return sorted(p.name for p in outdir.iterdir() if p.name.startswith(".tmp"))


def test_summary_is_written_as_cases_finish_in_input_order(tmp_path, calls_log):
    seen = []

    def on_case(result):  # the summary on disk already holds every case finished so far
        seen.append([row["case"] for row in _summary(tmp_path / "out")])

    results = run_batch(
        [_inputs(tmp_path / "in", ["c1", "bad2", "c3"])], tmp_path / "out", case_fn=fake_case, on_case=on_case
    )
    assert seen == [["bad2"], ["bad2", "c1"], ["bad2", "c1", "c3"]]  # input order is sorted file names
    assert [(r.case, r.ok) for r in results] == [("bad2", False), ("c1", True), ("c3", True)]
    rows = _summary(tmp_path / "out")
    assert rows[0]["status"] == "failed" and "could not be read" in rows[0]["error"]
    height = disc_rows("c1")[0]["disc_height_mm"]
    assert rows[1]["L4-L5 disc_height_mm"] == str(round(height, 3)) != str(height)  # as the case's CSV rounds


def test_two_workers_give_what_one_gives(tmp_path, calls_log):
    names = ["a", "bad", "bug", "b", "c"]
    run_batch([_inputs(tmp_path / "in", names)], tmp_path / "one", case_fn=fake_case)
    run_batch([tmp_path / "in"], tmp_path / "two", case_fn=fake_case, workers=2)
    assert sorted(os.listdir(tmp_path / "one")) == sorted(os.listdir(tmp_path / "two"))
    for name in os.listdir(tmp_path / "one"):
        if name != "summary.csv":
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert _summary(tmp_path / "one") == _summary(tmp_path / "two")
    assert {pid for case, pid in calls(calls_log)} - {str(os.getpid())}  # the second batch ran in workers


def test_a_dead_worker_loses_only_its_case(tmp_path, calls_log):
    results = run_batch(
        [_inputs(tmp_path / "in", ["a", "b", "crash", "d", "e"])], tmp_path / "out", case_fn=fake_case, workers=2
    )
    status = {r.case: (r.ok, r.error) for r in results}
    assert status["crash"][0] is False and "died" in status["crash"][1]
    assert all(status[c] == (True, "") for c in "abde"), status
    assert [c for c, _ in calls(calls_log)].count("crash") == 3  # tried again with the others, then alone
    assert [row["case"] for row in _summary(tmp_path / "out")] == ["a", "b", "crash", "d", "e"]


def test_ctrl_c_keeps_the_summary_of_what_finished(tmp_path, calls_log):
    finished = []

    def on_case(result):
        finished.append(result.case)
        if len(finished) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Cancelled, match="2 of 4 cases finished"):
        run_batch([_inputs(tmp_path / "in", list("abcd"))], tmp_path / "out", case_fn=fake_case, on_case=on_case)
    assert [row["case"] for row in _summary(tmp_path / "out")] == ["a", "b"]
    assert not (tmp_path / "out" / "c.seg.nrrd").exists() and not _leftovers(tmp_path / "out")


def test_ctrl_c_with_workers_stops_the_case_in_flight(tmp_path, calls_log, monkeypatch):
    monkeypatch.setenv("BATCH_SLOW_PID", str(tmp_path / "slow.pid"))
    monkeypatch.setenv("BATCH_SLOW_S", "120")

    def on_case(result):
        deadline = time.monotonic() + 60
        while not (tmp_path / "slow.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # wait until the slow case is running in the other worker
        raise KeyboardInterrupt

    start = time.monotonic()
    with pytest.raises(Cancelled, match="1 of 3 cases finished"):
        run_batch(
            [_inputs(tmp_path / "in", ["a", "slow", "z"])],
            tmp_path / "out",
            case_fn=fake_case,
            workers=2,
            on_case=on_case,
        )
    assert time.monotonic() - start < 60  # the slow case was stopped, not waited for
    pid = int((tmp_path / "slow.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert [row["case"] for row in _summary(tmp_path / "out")] == ["a"]
    assert not (tmp_path / "out" / "slow.seg.nrrd").exists()
    assert not _leftovers(tmp_path / "out")  # the stopped worker removed its temporary file


def test_resume_runs_only_what_is_missing_or_stale(tmp_path, calls_log):
    inputs = _inputs(tmp_path / "in", ["a", "b", "c"])
    out = tmp_path / "out"
    run_batch([inputs], out, case_fn=fake_case)
    first = _summary(out)
    with pytest.raises(OutputError, match="already exists"):  # without --resume or --overwrite: refused
        run_batch([inputs], out, case_fn=fake_case)
    (out / "b_report.png").unlink()  # b was interrupted
    later = time.time() + 10
    os.utime(inputs / "c.nii.gz", (later, later))  # c's input changed after its outputs were made
    calls_log.unlink()

    results = run_batch([inputs], out, case_fn=fake_case, resume=True)
    assert sorted(c for c, _ in calls(calls_log)) == ["b", "c"]
    assert [type(r) is ResumedResult for r in results] == [True, False, False]
    assert _summary(out) == first
    assert (out / "b_report.png").exists()


def _not_images(folder: Path) -> Path:
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image")
    (folder / "old.seg.nrrd").write_bytes(b"NRRD0004\n")
    return folder


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("problem", ["missing", "empty", "not_images", "fifo", "duplicate", "workers", "both"])
def test_a_refused_batch_creates_no_folder(tmp_path, problem):
    out = tmp_path / "out"
    args = {
        "missing": [str(tmp_path / "nope.nii.gz")],
        "empty": [str(_inputs(tmp_path / "empty", []))],
        "not_images": [str(_not_images(tmp_path / "docs"))],
        "fifo": [str(_fifo(tmp_path / "pipe.nii.gz"))],
        "duplicate": [str(_inputs(tmp_path / "x", ["a"])), str(_inputs(tmp_path / "y", ["a"]))],
        "workers": [str(_inputs(tmp_path / "in", ["a"])), "--workers", "0"],
        "both": [str(_inputs(tmp_path / "in", ["a"])), "--workers", "2", "--dask", "tcp://127.0.0.1:9"],
    }[problem]
    assert main(["batch", *args, "-o", str(out), "-q"]) == InputError.exit_code
    assert not out.exists()


def test_workers_give_the_sequential_result_with_the_model(tmp_path, capsys):
    for name in ("first", "second"):
        shutil.copy(SAMPLE, _inputs(tmp_path / "in", []) / f"{name}.nii.gz")
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "one"), "-q"]) == 0
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "two"), "-q", "--workers", "2"]) == 0
    names = sorted(os.listdir(tmp_path / "one"))
    assert len(names) == 2 * 5 + 2 and names == sorted(os.listdir(tmp_path / "two"))
    for name in names:
        if name != "summary.csv":
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    rows = _summary(tmp_path / "one")
    assert rows == _summary(tmp_path / "two") and [r["status"] for r in rows] == ["ok", "ok"]
    assert float(rows[0]["L4-L5 disc_height_mm"]) > 0


def test_the_batch_parent_starts_its_workers_without_the_heavy_libraries():
    """The parent of a batch only hands out cases and writes the tables: what it imports before starting the workers
    (each of which imports the libraries itself) delays every case, 0.4 s for scipy.ndimage alone."""
    import subprocess
    import sys

    code = (
        "import sys, disccore.batch, disccore.batch.local, disccore.measure, disccore.report, disccore.pipeline\n"
        "from disccore.batch.summary import levels_csv_text, summary_csv_text\n"
        "levels_csv_text([]), summary_csv_text([])\n"
        "print(sorted(m for m in ('scipy.ndimage', 'matplotlib', 'onnxruntime', 'SimpleITK') if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "DiscCore"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_workers_see_the_environment_of_their_batch(tmp_path, monkeypatch):
    # workers fork from a server process started by the first batch: the second must still see its own settings
    for name in ("first", "second"):
        log = tmp_path / f"{name}.log"
        monkeypatch.setenv("BATCH_CALLS_LOG", str(log))
        run_batch([_inputs(tmp_path / name, ["a", "b"])], tmp_path / f"out-{name}", case_fn=fake_case, workers=2)
        assert sorted(c for c, _ in calls(log)) == ["a", "b"]


@pytest.mark.parametrize("imported_first", [False, True])
def test_a_worker_holds_every_library_to_its_share_of_the_cores(imported_first):
    """ITK runs its filters on every core unless told: two workers would each start a pool as large as the machine."""
    import subprocess
    import sys

    code = (
        ("import SimpleITK\n" if imported_first else "")
        + "import os\nfrom disccore.batch.local import THREAD_VARIABLES, init_worker\n"
        "init_worker(1, dict(os.environ))\n"
        "import SimpleITK\n"
        "print(SimpleITK.ProcessObject.GetGlobalDefaultNumberOfThreads(), *(os.environ[v] for v in THREAD_VARIABLES))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "DiscCore"))
    env.pop("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert set(out.stdout.split()) == {"1"}
