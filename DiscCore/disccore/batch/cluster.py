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
CONNECT_TIMEOUT_S = 30


def require_distributed():
    """The ``distributed`` package, or a one-line error saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise InputError("--dask needs the dask distributed package: pip install 'disccore[cluster]'") from None
    return distributed


def connect(address: str):
    """A client of the scheduler at ``address`` (e.g. tcp://host:8786), or a one-line error."""
    distributed = require_distributed()
    try:
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DiscCoreError(f"could not reach the Dask scheduler at '{address}': {exc}") from None


def run_on_dask(tasks: list, address: str, on_done: Callable, progress: Optional[ProgressCallback] = None) -> None:
    """The cases as tasks on the cluster at ``address``; ``on_done`` is called here as each finishes."""
    distributed = require_distributed()
    client = connect(address)
    futures, batch_id = {}, uuid.uuid4().hex[:8]
    try:
        for task in tasks:
            # pure=False: a rerun of the batch is new work, not a cached result
            future = client.submit(run_task, task, key=f"disccore-case-{task.index}-{task.case}-{batch_id}",
                                   pure=False, retries=TASK_RETRIES)
            futures[future] = task
        for done, future in enumerate(distributed.as_completed(futures), start=1):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the cluster gave up on it (KilledWorker after repeated worker deaths)
                result = failed_result(task, f"the cluster could not run this case: {type(exc).__name__}: {exc}")
            report(progress, done / len(tasks), f"{done}/{len(tasks)}: {task.case} {'ok' if result.ok else 'failed'}")
            on_done(result)
    finally:
        client.cancel(list(futures))  # Ctrl-C or an error here: leave nothing running on the cluster
        client.close()
