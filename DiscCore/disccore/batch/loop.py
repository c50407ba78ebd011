"""``run_batch``: every input through a case function, here, in local worker processes or on a Dask cluster.

A failing case is recorded and the batch goes on. ``summary.csv`` and ``all_levels.csv`` are rewritten after
every case, so an interrupted batch keeps the summary of what finished; ``resume`` skips finished cases.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Optional

from ..errors import Cancelled, DiscCoreError, InputError
from ..pipeline import CaseResult, case_name, prepare_output_dir
from ..progress import ProgressCallback
from .cases import CaseTask, disccore_outputs, resumed_result
from .inputs import find_inputs
from .summary import SummaryFiles

# File times may be coarser than the clock: outputs written just after the batch started must count as its own.
CLOCK_SLACK_S = 2.0


def run_batch(
    inputs: Iterable,
    outdir,
    *,
    model: Optional[str] = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Optional[ProgressCallback] = None,
    workers: int = 1,
    dask_address: Optional[str] = None,
    resume: bool = False,
    case_fn: Optional[Callable] = None,
    case_outputs: Callable = disccore_outputs,
    on_case: Optional[Callable[[CaseResult], None]] = None,
) -> list:
    """Run every input through ``case_fn`` (default :func:`disccore.pipeline.run_case`); results in input order.

    ``case_fn(path, outdir, case=, progress=, model=, device=, overwrite=)`` returns a CaseResult; with
    ``workers`` > 1 or ``dask_address`` it must be importable by name (it runs in other processes).
    ``case_outputs(outdir, case)`` lists the files it writes (``resume`` skips a case when all exist and none is
    older than the input; a case that is not complete is run again, replacing its leftovers). ``on_case(result)``
    is called here after each case, in the order they finish. Inputs are checked before anything is created.
    """
    paths, summaries = _check(
        inputs, Path(outdir), overwrite=overwrite, resume=resume, workers=workers, dask=bool(dask_address)
    )
    client = _connect(dask_address)  # an unreachable cluster is refused before the output folder is made
    try:
        outdir = prepare_output_dir(Path(outdir))
    except DiscCoreError:
        if client is not None:
            client.close()
        raise
    options = {"model": model, "device": device, "overwrite": overwrite or resume}
    since = time.time() - CLOCK_SLACK_S
    tasks = [
        CaseTask(
            i,
            p,
            case_name(p),
            outdir,
            case_fn or _default_case_fn(),
            dict(options),
            list(case_outputs(outdir, case_name(p))),
            since,
        )
        for i, p in enumerate(paths)
    ]

    def finished(result: CaseResult, write: bool = True) -> None:
        summaries.add(result, write=write)
        if on_case is not None:
            on_case(result)

    try:
        pending = [t for t in tasks if not (resume and _take_resumed(t, finished))]
        summaries.write()
        _execute(pending, finished, workers=workers, client=client, progress=progress)
    except (KeyboardInterrupt, Cancelled):
        _write_quietly(summaries)
        raise Cancelled(
            f"stopped: {len(summaries.results)} of {len(tasks)} cases finished (summary in "
            f"{summaries.summary}); run again with --resume to do the rest"
        ) from None
    except BaseException:
        _write_quietly(summaries)
        raise
    summaries.write()
    return list(summaries.results)


def _check(inputs, outdir: Path, *, overwrite: bool, resume: bool, workers: int, dask: bool):
    """The input paths and the summary files, after every check that can refuse the batch (creates nothing)."""
    paths = find_inputs(inputs)
    if not paths:
        raise InputError("no images found in the given inputs")
    if workers < 1:
        raise InputError(f"--workers must be 1 or more (got {workers})")
    if dask and workers > 1:
        raise InputError("--workers and --dask exclude each other: the cluster's workers run the cases")
    summaries = SummaryFiles(outdir, [case_name(p) for p in paths], overwrite=overwrite or resume)
    if outdir.is_dir():
        summaries.check()
    return paths, summaries


def _connect(dask_address: Optional[str]):
    if not dask_address:
        return None
    from .cluster import connect

    return connect(dask_address)


def _default_case_fn() -> Callable:
    from ..pipeline import run_case

    return run_case


def _take_resumed(task: CaseTask, finished: Callable) -> bool:
    """Hand over the earlier result of a case that is already done; False when it must run."""
    result = resumed_result(task)
    if result is not None:
        finished(result, write=False)  # one write after all of them: thousands of rewrites would take long
    return result is not None


def _execute(tasks: list, finished: Callable, *, workers: int, client, progress) -> None:
    if client is not None:
        from .cluster import run_on_dask

        run_on_dask(tasks, client, finished, progress)
    elif not tasks:
        return
    elif workers > 1 and len(tasks) > 1:
        from .local import run_in_processes

        run_in_processes(tasks, min(workers, len(tasks)), finished, progress)
    else:
        from .local import run_sequential

        run_sequential(tasks, finished, progress)


def _write_quietly(summaries: SummaryFiles) -> None:
    """The summary of what finished, when the batch stops early (a second failure must not hide the first)."""
    try:
        summaries.write()
    except DiscCoreError:
        pass
