"""disccore batch --dask: the batch on a Dask LocalCluster of two worker processes, one of them killed mid-batch.

The cases are the stand-in of batch_cases.py; the workers read its knobs from the environment they start with.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="dask distributed is not installed (disccore[cluster])")

from batch_cases import calls, fake_case  # noqa: E402
from test_batch import _inputs, _summary  # noqa: E402

from disccore.batch import run_batch  # noqa: E402
from disccore.cli.main import main  # noqa: E402

KILL_WAIT_S = 60


@pytest.fixture(scope="module")
def knobs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("dask-knobs")
    return {
        "BATCH_CALLS_LOG": str(folder / "calls.log"),
        "BATCH_SLOW_PID": str(folder / "slow.pid"),
        "BATCH_SLOW_S": "120",
    }


@pytest.fixture(scope="module")
def cluster(knobs):
    saved = dict(os.environ)
    os.environ.update(knobs)  # the worker processes (and those restarted after a kill) inherit these
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local:
            yield local
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def log(knobs) -> Path:
    path = Path(knobs["BATCH_CALLS_LOG"])
    if path.exists():
        path.unlink()
    return path


def test_dask_batch_gives_what_the_local_batch_gives(cluster, tmp_path, log):
    inputs = _inputs(tmp_path / "in", ["a", "bad", "bug", "b"])
    run_batch([inputs], tmp_path / "local", case_fn=fake_case)
    run_batch([inputs], tmp_path / "dask", case_fn=fake_case, dask_address=cluster.scheduler_address)
    names = sorted(os.listdir(tmp_path / "local"))
    assert names == sorted(os.listdir(tmp_path / "dask"))
    for name in names:
        if name != "summary.csv":
            assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    assert _summary(tmp_path / "local") == _summary(tmp_path / "dask")
    worker_pids = {pid for case, pid in calls(log)} - {str(os.getpid())}
    assert worker_pids  # the cases did run on the cluster's workers


def _kill_when_slow_case_runs(pid_file: Path, killed: list) -> None:
    deadline = time.monotonic() + KILL_WAIT_S
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_file.exists():
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)


def test_a_killed_worker_case_is_retried_elsewhere(cluster, tmp_path, log, knobs):
    pid_file = Path(knobs["BATCH_SLOW_PID"])
    if pid_file.exists():
        pid_file.unlink()
    killed: list = []
    killer = threading.Thread(target=_kill_when_slow_case_runs, args=(pid_file, killed), daemon=True)
    killer.start()
    start = time.monotonic()
    results = run_batch(
        [_inputs(tmp_path / "in", ["a", "b", "slow", "d", "e"])],
        tmp_path / "out",
        case_fn=fake_case,
        dask_address=cluster.scheduler_address,
    )
    killer.join(timeout=KILL_WAIT_S)
    assert killed, "the slow case never started"
    assert time.monotonic() - start < 100  # the retried case did not sleep again
    assert [(r.case, r.ok) for r in results] == [(c, True) for c in ("a", "b", "d", "e", "slow")]
    slow_pids = [pid for case, pid in calls(log) if case == "slow"]
    assert len(slow_pids) == 2 and slow_pids[0] == str(killed[0]) != slow_pids[1]
    assert [row["status"] for row in _summary(tmp_path / "out")] == ["ok"] * 5
    assert (tmp_path / "out" / "slow.seg.nrrd").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    import dask

    inputs = _inputs(tmp_path / "in", ["a"])
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(["batch", str(inputs), "-o", str(tmp_path / "out"), "-q", "--dask", "tcp://127.0.0.1:9"])
    assert code == 1 and not (tmp_path / "out").exists()  # refused before anything was created
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not reach the Dask scheduler" in err[0]


@pytest.mark.slow
def test_dask_batch_with_the_model_gives_the_local_result(cluster, tmp_path):
    import shutil

    from test_batch import SAMPLE

    inputs = _inputs(tmp_path / "in", [])
    shutil.copy(SAMPLE, inputs / "sample.nii.gz")
    assert main(["batch", str(inputs), "-o", str(tmp_path / "local"), "-q"]) == 0
    assert main(["batch", str(inputs), "-o", str(tmp_path / "dask"), "-q", "--dask", cluster.scheduler_address]) == 0
    names = sorted(os.listdir(tmp_path / "local"))
    assert len(names) == 5 + 2 and names == sorted(os.listdir(tmp_path / "dask"))
    for name in names:
        if name != "summary.csv":
            assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    assert _summary(tmp_path / "local") == _summary(tmp_path / "dask")
