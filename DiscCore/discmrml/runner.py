"""Out-of-process model inference: ``python -m disccore segment IN.nrrd -o OUT.seg.nrrd ...``.

Why a separate process (as the TotalSegmentator and MONAIAuto3DSeg extensions do): Slicer's GUI
stays responsive, Cancel kills the process tree at once, GPU memory is freed when it exits, and the
code path is the one the ``disccore`` command line and batch runs use.

The interpreter that runs the model is, in order: the ``python`` argument (a path, or a command
prefix list such as ``["conda", "run", "-n", "gpu", "python"]``); the ``DISCCORE_PYTHON``
environment variable (split like a shell command line; useful to run the model in another
environment, e.g. one with a CUDA build of torch); inside Slicer, ``PythonSlicer``; else the running
Python. The child gets ``PYTHONPATH`` pointing at the folder that holds ``disccore``.

Progress is parsed from the child's output (the ``disccore`` progress bar: ``... 42.0%  3.1s message``).
The child writes stdout and stderr into a temporary file that :meth:`ModelProcess.poll` reads from where it
left off: no reader threads, whose progress inside Slicer would wait on the GIL until the panel's timer runs
Python, and no pipe that could fill up and block the child between two polls.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional, Union

import disccore
from disccore import errors
from disccore.progress import ProgressCallback, report

LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")  # progress bars redraw in place with \r
PROGRESS_RE = re.compile(r"(\d+(?:\.\d+)?)%\s+\d+(?:\.\d+)?s\s*(.*)$")
ERROR_RE = re.compile(r"^disccore \w+: error: (.*)$")
DEVICES = {"auto": "auto", "cpu": "cpu", "gpu": "cuda", "cuda": "cuda"}
_EXIT_CODES = {
    cls.exit_code: cls
    for cls in (
        errors.InputError,
        errors.ImageContentError,
        errors.LabelError,
        errors.OutputError,
        errors.ModelError,
        errors.NothingFoundError,
        errors.Cancelled,
    )
}

PythonSpec = Union[str, Sequence[str], None]


def python_command(python: PythonSpec = None) -> list[str]:
    """The command prefix that starts a Python able to ``-m disccore`` (see the module docstring)."""
    if python:
        return [python] if isinstance(python, (str, os.PathLike)) else [str(p) for p in python]
    env = os.environ.get("DISCCORE_PYTHON", "").strip()
    if env:
        return shlex.split(env, posix=(os.name != "nt"))
    from .headless import in_slicer_application

    if in_slicer_application():
        found = shutil.which("PythonSlicer")
        if found:
            return [found]
    return [sys.executable]


def segment_command(
    input_path, output_path, model: Optional[str] = None, device: str = "auto", python: PythonSpec = None
) -> list[str]:
    """``[python, -m, disccore, segment, IN, -o, OUT, --device, D(, --model, M)]``."""
    device_arg = DEVICES.get(str(device).lower())
    if device_arg is None:
        raise errors.InputError(f"unknown device '{device}'; choose auto, CPU or GPU")
    cmd = python_command(python) + [
        "-m",
        "disccore",
        "segment",
        str(input_path),
        "-o",
        str(output_path),
        "--device",
        device_arg,
    ]
    if model:
        cmd += ["--model", str(model)]
    return cmd


def adapt_command(
    cases_dir, output_dir, parent: Optional[str] = None, name: Optional[str] = None, python: PythonSpec = None
) -> list[str]:
    """``[python, -m, disccore, adapt, --cases, DIR, -o, OUT(, --from, M)(, --name, N)]``."""
    cmd = python_command(python) + ["-m", "disccore", "adapt", "--cases", str(cases_dir), "-o", str(output_dir)]
    if parent:
        cmd += ["--from", str(parent)]
    if name:
        cmd += ["--name", str(name)]
    return cmd


def start_adaptation(
    cases_dir,
    output_dir,
    parent: Optional[str] = None,
    name: Optional[str] = None,
    python: PythonSpec = None,
    progress: Optional[ProgressCallback] = None,
) -> ModelProcess:
    """Start ``disccore adapt`` out of process (poll / cancel / wait as for a segmentation); the new model folder
    appears at ``output_dir`` only when it succeeded."""
    command = adapt_command(cases_dir, output_dir, parent, name, python)
    return ModelProcess(command, progress=progress, what="adaptation").start()


def child_environment() -> dict:
    """The environment for the child: PYTHONPATH starts with the folder holding ``disccore``."""
    env = dict(os.environ)
    here = str(Path(disccore.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def parse_progress(line: str) -> Optional[tuple[float, str]]:
    """``(fraction, message)`` from a progress bar line, or None."""
    m = PROGRESS_RE.search(line)
    if not m:
        return None
    return min(1.0, float(m.group(1)) / 100.0), m.group(2).strip()


class ModelProcess:
    """One child process running a command; non-blocking progress, cancellable (kills the process tree)."""

    def __init__(
        self,
        command: Sequence[str],
        env: Optional[dict] = None,
        progress: Optional[ProgressCallback] = None,
        what: str = "segmentation",
    ):
        self.command = [str(c) for c in command]
        self.what = what  # what the child does, for messages
        self.env = env if env is not None else child_environment()
        self.progress = progress
        self.fraction = 0.0
        self.message = ""
        self.cancelled = False
        self.log: deque = deque(maxlen=200)
        self._proc: Optional[subprocess.Popen] = None
        self._output_path: Optional[str] = None
        self._output = None  # our read handle on the child's output file
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # the last, unfinished line

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ModelProcess:
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | getattr(subprocess, "CREATE_NO_WINDOW", 0)
        else:
            kwargs["start_new_session"] = True  # its own process group: cancel kills its children too
        fd, self._output_path = tempfile.mkstemp(prefix="disccore-segment-", suffix=".log")
        try:
            with os.fdopen(fd, "wb") as sink:  # the child keeps its own handle; ours closes here
                self._proc = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    **kwargs,
                )
        except OSError as exc:
            self._close_output()
            reason = exc.strerror or exc
            raise errors.ModelError(f"could not start the {self.what} process ({self.command[0]}): {reason}") from exc
        self._output = open(self._output_path, "rb")
        return self

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    def _read_output(self, final: bool) -> None:
        """Handle the lines the child wrote since the last call (all of them once it has ended)."""
        if self._output is None:
            return
        self._pending += self._decoder.decode(self._output.read(), final=final)
        *lines, self._pending = LINE_BREAK_RE.split(self._pending)
        if final:
            lines.append(self._pending)
            self._pending = ""
        for line in lines:
            if not line.strip():
                continue
            self.log.append(line)
            parsed = parse_progress(line)
            if parsed:
                self.fraction, self.message = parsed
                report(self.progress, self.fraction, self.message)

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._output_path is not None:
            try:
                os.remove(self._output_path)
            except OSError:  # Windows: still held by a child that outlived a kill; the temp folder keeps it
                pass
            self._output_path = None

    def poll(self) -> Optional[int]:
        """Handle the output so far (progress callback); the exit code once finished, else None."""
        if self._proc is None:
            return None
        code = self._proc.poll()  # first: once it has ended, everything it wrote is in the file
        self._read_output(final=code is not None)
        if code is not None:
            self._close_output()
        return code

    def cancel(self, grace_seconds: float = 3.0) -> None:
        """Stop the child and everything it started (SIGTERM, then SIGKILL; taskkill /T on Windows)."""
        self.cancelled = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._close_output()
            return
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
        else:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=grace_seconds)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.poll()  # the last lines, and the output file removed

    def wait(
        self,
        should_cancel: Optional[Callable[[], bool]] = None,
        poll_seconds: float = 0.05,
        timeout: Optional[float] = None,
    ) -> int:
        """Block until the child ends (or ``should_cancel()`` is true, then cancel); returns the exit code."""
        start = time.monotonic()
        while True:
            code = self.poll()
            if code is not None:
                return code
            if should_cancel is not None and should_cancel():
                self.cancel()
            elif timeout is not None and time.monotonic() - start > timeout:
                self.cancel()
                raise errors.ModelError(f"the {self.what} took longer than {timeout:.0f} s and was stopped")
            time.sleep(poll_seconds)

    def raise_for_status(self, code: int) -> None:
        """Turn a non-zero exit into the typed disccore error the child reported."""
        if self.cancelled:
            raise errors.Cancelled(f"{self.what} cancelled")
        if code == 0:
            return
        message = next((m.group(1) for m in (ERROR_RE.match(l) for l in reversed(self.log)) if m), None)
        cls = _EXIT_CODES.get(code, errors.DiscCoreError)
        if message:
            raise cls(message)
        tail = " | ".join(list(self.log)[-5:]) or "no output"
        raise errors.ModelError(f"the {self.what} process failed (exit code {code}): {tail}")


class SegmentationJob:
    """Segment a volume node out of process; the panel polls it from a timer, batch code waits on it.

    ``start()`` writes the volume to a temporary NRRD (Slicer's writer, LPS on disk) and starts the
    child; ``poll()`` / ``cancel()`` as :class:`ModelProcess`; ``finish(...)`` imports the result into
    a segmentation node (keeping the user's edited segments unless ``replace``) and removes the
    temporary files.
    """

    def __init__(
        self,
        volume_node,
        model: Optional[str] = None,
        device: str = "auto",
        python: PythonSpec = None,
        progress: Optional[ProgressCallback] = None,
    ):
        self.volume_node = volume_node
        self.model = model
        self.device = device
        self.python = python
        self.progress = progress
        self.started = None
        self.seconds = 0.0
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self.process: Optional[ModelProcess] = None

    @property
    def output_path(self) -> Path:
        return Path(self._tmp.name) / "result.seg.nrrd"

    def start(self) -> SegmentationJob:
        from .volumes import write_volume

        if self.volume_node is None or self.volume_node.GetImageData() is None:
            raise errors.InputError("select an input volume with image data")
        self.started = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="discseg-")
        input_path = Path(self._tmp.name) / "input.nrrd"
        report(self.progress, 0.0, "writing the volume for the model")
        write_volume(self.volume_node, input_path)
        command = segment_command(input_path, self.output_path, self.model, self.device, self.python)
        self.process = ModelProcess(command, progress=self.progress).start()
        return self

    def poll(self) -> Optional[int]:
        return self.process.poll() if self.process else None

    def cancel(self) -> None:
        if self.process:
            self.process.cancel()

    def wait(self, should_cancel: Optional[Callable[[], bool]] = None, timeout: Optional[float] = None) -> int:
        return self.process.wait(should_cancel=should_cancel, timeout=timeout)

    def finish(self, segmentation_node=None, replace: bool = False, name: Optional[str] = None):
        """Import the finished result; returns ``(segmentation node, SegmentUpdate)``. Raises on failure."""
        from .lines import remove_node_and_display
        from .segmentations import labelmap_to_segmentation, load_segmentation, segmentation_to_labelmap

        try:
            code = self.process.poll()
            if code is None:
                code = self.process.wait()
            self.process.raise_for_status(code)
            if not self.output_path.is_file():
                raise errors.ModelError("the segmentation process ended without writing a result")
            scene = self.volume_node.GetScene()
            loaded = load_segmentation(self.output_path, name="__model_result__", scene=scene)
            try:
                labels, names, _ = segmentation_to_labelmap(loaded, self.volume_node)
            finally:
                remove_node_and_display(scene, loaded)
            node, update = labelmap_to_segmentation(
                labels,
                names,
                segmentation_node=segmentation_node,
                reference_volume=self.volume_node,
                replace=replace,
                name=name or f"{self.volume_node.GetName()} segmentation",
                scene=scene,
            )
            update.quality = read_quality_report(self.output_path)
            self.seconds = time.monotonic() - (self.started or time.monotonic())
            report(self.progress, 1.0, f"done in {self.seconds:.1f} s")
            return node, update
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.cancel()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def read_quality_report(output_path: Path) -> Optional[dict]:
    """The quality report ``disccore segment`` wrote beside its output (None when there is none, or it is not
    readable: the segmentation itself is still good)."""
    import json

    from disccore.cli.cmd_segment import quality_path

    try:
        report = json.loads(quality_path(output_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def segment_volume_node(
    volume_node,
    segmentation_node=None,
    *,
    model: Optional[str] = None,
    device: str = "auto",
    replace: bool = False,
    progress: Optional[ProgressCallback] = None,
    should_cancel: Optional[Callable[[], bool]] = None,
    python: PythonSpec = None,
    timeout: Optional[float] = None,
):
    """Blocking: segment ``volume_node`` out of process; returns ``(segmentation node, SegmentUpdate)``."""
    job = SegmentationJob(volume_node, model=model, device=device, python=python, progress=progress)
    try:
        job.start()
        job.wait(should_cancel=should_cancel, timeout=timeout)
        return job.finish(segmentation_node, replace=replace)
    finally:
        job.cleanup()
