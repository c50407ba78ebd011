"""Run batch tasks on a Dask distributed cluster (``disccore batch --dask ADDRESS``).

Each case is one task. Inputs and outputs must be on a file system every worker sees under the same paths.
A case whose worker dies is rescheduled by the scheduler on another worker (up to its ``allowed-failures``
setting); ``retries`` covers a task that fails outside the case (a case's own failure is a result, not an error).
"""

from __future__ import annotations

import uuid
from typing import Callable, Optional

from ..errors import DiscCoreError, InputError
from ..progress import ProgressCallback, report
from .cases import failed_result, run_task

TASK_RETRIES = 2


def require_distributed():
    """The ``distributed`` package, or a one-line error saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise InputError("--dask needs the dask distributed package: pip install 'disccore[cluster]'") from None
    return distributed


def connect(address: str):
    """A client of the scheduler at ``address`` (e.g. tcp://host:8786), or a one-line error.

    How long it tries is Dask's setting ``distributed.comm.timeouts.connect`` (30 s unless configured).
    """
    distributed = require_distributed()
    try:
        return distributed.Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DiscCoreError(f"could not reach the Dask scheduler at '{address}': {exc}") from None


def run_on_dask(tasks: list, client, on_done: Callable, progress: Optional[ProgressCallback] = None) -> None:
    """The cases as tasks on the cluster of ``client`` (closed at the end); ``on_done`` is called here as each
    finishes. A case whose result was lost with its worker is submitted again (its outputs, when complete, are
    then taken as they are)."""
    distributed = require_distributed()
    batch_id = uuid.uuid4().hex[:8]
    futures, submissions = {}, {t.index: 0 for t in tasks}

    def submit(task):
        submissions[task.index] += 1
        # pure=False: a rerun of the batch is new work, not a cached result
        future = client.submit(
            run_task,
            task,
            key=f"disccore-case-{task.index}-{task.case}-{batch_id}-{submissions[task.index]}",
            pure=False,
            retries=TASK_RETRIES,
        )
        futures[future] = task
        return future

    try:
        pending = distributed.as_completed([submit(task) for task in tasks])
        done = 0
        for future in pending:
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # lost with a worker, or the cluster gave up on it (KilledWorker)
                if submissions[task.index] <= TASK_RETRIES:
                    pending.add(submit(task))
                    continue
                result = failed_result(task, f"the cluster could not run this case: {type(exc).__name__}: {exc}")
            done += 1
            report(progress, done / len(tasks), f"{done}/{len(tasks)}: {task.case} {'ok' if result.ok else 'failed'}")
            on_done(result)
    finally:
        client.cancel(list(futures))  # Ctrl-C or an error here: leave nothing running on the cluster
        client.close()
