"""Run batch tasks on this machine: in this process, or in worker processes that each load the model once.

Each worker process lives for the whole batch (the segmenter caches its network per process) and gets
cores // workers threads, so workers x threads = cores. At most ``workers`` cases are in flight at any time:
a worker that dies (out of memory, a crash) or a Ctrl-C loses only those. After a worker died, the cases that
were in flight are tried again; a case lost twice is tried alone in a fresh worker, and fails if it dies again.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Optional

from ..progress import ProgressCallback, report, sub_progress
from .cases import failed_result, run_task

# The thread pools a worker's libraries start (the network's, BLAS's, ITK's filters'), each held to the worker's share:
# ITK would otherwise run every resampling and labelling on all cores in every worker at once.
THREAD_VARIABLES = (
    "DISCCORE_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS",
)
STOP_WAIT_S = 10  # how long a stopped worker may take to clean up after itself


def available_cores() -> int:
    """CPU cores this process may use (its affinity where the system reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int, cores: Optional[int] = None) -> int:
    return max(1, (cores or available_cores()) // max(1, workers))


def init_worker(threads: int, environment: Optional[dict] = None) -> None:
    """Worker start: the parent's environment as it is now (a worker forked from the fork server would otherwise
    keep the server's, from when it started), its share of the cores; Ctrl-C left to the parent, which stops the
    workers with SIGTERM."""
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:  # imported already by the caller's main module, which a worker imports again
        sys.modules["torch"].set_num_threads(threads)
    if "SimpleITK" in sys.modules:  # likewise; ITK reads its variable only when it starts
        sys.modules["SimpleITK"].ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame) -> None:
    # An exception, not a sudden death: the case's `finally` blocks remove its temporary files on the way out.
    raise SystemExit(128 + signum)


def run_sequential(tasks: list, on_done: Callable, progress: Optional[ProgressCallback] = None) -> None:
    """One case after another in this process (what Slicer's batch.py needs: the scene lives here)."""
    n = len(tasks)
    for i, task in enumerate(tasks):
        report(progress, i / n, f"case {i + 1}/{n}: {task.case}")
        on_done(run_task(task, progress=sub_progress(progress, i / n, (i + 1) / n)))


def run_in_processes(tasks: list, workers: int, on_done: Callable, progress: Optional[ProgressCallback] = None) -> None:
    """The cases on ``workers`` processes; ``on_done`` is called here as each finishes."""
    queue = sorted(tasks, key=lambda t: t.index)
    counter = _Counter(len(tasks), progress, on_done)
    lost_before: set = set()
    while queue:
        lost = _run_pool(queue, workers, counter)
        for task in lost:  # in flight when a worker died: once more with the others, then alone
            if task.index not in lost_before:
                lost_before.add(task.index)
                queue.append(task)
            elif _run_pool([task], 1, counter):  # alone in a fresh worker, only the culprit dies again
                counter.finish(failed_result(task, "the worker process running this case died (out of memory?)"))
        queue.sort(key=lambda t: t.index)


class _Counter:
    """Progress over finished cases, and the hand-over of each result."""

    def __init__(self, n: int, progress: Optional[ProgressCallback], on_done: Callable):
        self.n, self.done, self.progress, self.on_done = n, 0, progress, on_done

    def finish(self, result) -> None:
        self.done += 1
        status = "ok" if result.ok else "failed"
        report(self.progress, self.done / self.n, f"{self.done}/{self.n}: {result.case} {status}")
        self.on_done(result)


def _run_pool(queue: list, workers: int, counter: _Counter) -> list:
    """Run queued tasks (taking them off ``queue``) on one pool until it is empty or a worker dies.

    Returns the tasks that were in flight when a worker died (none when all went well).
    """
    pool = _new_pool(workers)
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                in_flight[pool.submit(run_task, queue[0])] = queue[0]  # raises BrokenProcessPool once broken
                queue.pop(0)
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            if any(isinstance(future.exception(), BrokenProcessPool) for future in finished):  # a worker died
                _finish_completed(finished, in_flight, counter)
                return list(in_flight.values())
            _finish_completed(finished, in_flight, counter)
        pool.shutdown(wait=True)
        return []
    except BrokenProcessPool:
        return list(in_flight.values())
    finally:
        _stop(pool)


def _finish_completed(finished, in_flight: dict, counter: _Counter) -> None:
    """Hand over the cases that came back (those lost with a dead worker stay in ``in_flight``)."""
    for future in finished:
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            continue
        task = in_flight.pop(future)
        # run_task returns every failure of the case as a result; an error here is the pool's (e.g. pickling)
        counter.finish(future.result() if error is None else failed_result(task, f"internal error: {error!r}"))


def _new_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_worker_context(),
        initializer=init_worker,
        initargs=(threads_per_worker(workers), dict(os.environ)),
    )


def _worker_context():
    """Workers forked from a fresh single-threaded server process where the system has one, else spawned.

    Not forked from this process: a copy of a parent that already runs torch's or ONNX Runtime's thread pools can
    deadlock. Forked from the server, a worker ends with a plain exit instead of a full interpreter shutdown, which
    the spawn start pays on every worker (about 0.4 s at the end of each batch here).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([])  # not the caller's __main__: a script without a main guard would run again
    return context


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: queued cases are cancelled, cases still running are killed (their outputs are
    written atomically, so a killed case leaves nothing half-written)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=STOP_WAIT_S)
        if process.is_alive():  # stuck in native code: no more waiting
            process.kill()
            process.join()
