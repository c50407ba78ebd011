"""Safe output writing: refuse to clobber, never leave a partial file, never replace an input.

Writers call :func:`check_output_path` before any work (so a bad or read-only path fails fast) and write
through :func:`atomic_output`, which writes to a hidden temporary file in the destination folder and renames it
into place only when the writer succeeded. A set of files that belong together (one case of ``disccore run``)
goes through :func:`staged_outputs`: written into a hidden folder, then moved into place together.

Temporaries are named ``.tmp-disccore-PID-HOST-...``: one left by a killed run (its process gone on this host,
or older than a day when written from another host) is removed by the next run that writes into the same
folder. A failed write (disk full, read-only folder) is an OutputError.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

from .errors import OutputError

PathLike = Union[str, os.PathLike]

TEMPORARY_PREFIX = ".tmp-disccore-"
#: a temporary from another host (a shared folder) cannot be checked for a live process; left alone this long
FOREIGN_TEMPORARY_AGE_S = 24 * 3600
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _write_failed(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or exc.__class__.__name__
    return OutputError(f"'{path}' could not be written ({reason}); check free disk space and write permission")


def check_writable_folder(folder: Path) -> None:
    """Create and remove a probe file: permission bits alone miss read-only mounts and immutable folders."""
    try:
        fd, probe = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-{_HOST}-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"the output folder '{folder}' is not writable ({exc.strerror or exc.__class__.__name__}); "
            "choose another folder"
        ) from None


def check_output_path(path: PathLike, overwrite: bool = False) -> Path:
    """Validate an output file path; return it as a Path.

    Raises OutputError when the parent folder does not exist or cannot be written to, the path is a folder,
    or the file exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.exists() and p.is_dir():
        raise OutputError(f"the output '{p}' is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"the output folder '{parent}' does not exist; create it first")
    if p.exists() and not overwrite:
        raise OutputError(f"'{p}' already exists; choose another name or pass --overwrite to replace it")
    check_writable_folder(parent)
    return p


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_inputs_as_outputs(outputs: Iterable[PathLike], inputs: Iterable) -> None:
    """Raise OutputError when an output is one of the inputs (same path, link or hard link), --overwrite or not."""
    ins = [Path(i) for i in inputs if i]
    for out in outputs:
        for i in ins:
            if _same_file(Path(out), i):
                raise OutputError(
                    f"the output '{out}' is the input '{i}'; an input is never replaced, choose another output name"
                )


def _is_stale(entry: os.DirEntry) -> bool:
    parts = entry.name[len(TEMPORARY_PREFIX) :].split("-")
    if len(parts) < 3 or not parts[0].isdigit():
        return False
    pid, host = int(parts[0]), parts[1]
    if host != _HOST:
        try:
            return time.time() - entry.stat(follow_symlinks=False).st_mtime > FOREIGN_TEMPORARY_AGE_S
        except OSError:
            return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else
        return False
    return False


def remove_stale_temporaries(folder: PathLike) -> None:
    """Remove temporaries that a killed run left in ``folder`` (a live run's are kept; it may be writing)."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(TEMPORARY_PREFIX)]
    except OSError:
        return
    for entry in entries:
        if not _is_stale(entry):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


def temporary_path(final: Path) -> Path:
    """A hidden name beside ``final`` that carries this process's id (so a later run can tell it is stale)."""
    return final.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}-{_HOST}-{uuid.uuid4().hex[:8]}-{final.name}")


@contextmanager
def atomic_output(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same file name suffixes); move it onto ``path`` on success.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is left untouched; an
    OSError while writing (disk full, no permission) becomes a one-line OutputError.
    """
    final = check_output_path(path, overwrite)
    remove_stale_temporaries(final.parent)
    tmp = temporary_path(final)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"nothing was written for '{final}'")
        if final.exists() and not overwrite:  # appeared while we worked
            raise OutputError(f"'{final}' appeared while writing; it was left untouched")
        os.replace(tmp, final)
    except OSError as exc:
        raise _write_failed(final, exc) from None
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def staged_outputs(finals: list[Path], overwrite: bool = False) -> Iterator[dict[Path, Path]]:
    """Write a set of files that belong together: all appear, or none (not even after Ctrl-C or a full disk).

    Yields {final path: path to write} inside a hidden folder in the finals' folder; when the block succeeds
    each file is moved into place. A move that fails takes back the files already moved.
    """
    folder = finals[0].parent
    for p in finals:
        check_output_path(p, overwrite)
    remove_stale_temporaries(folder)
    staging = temporary_path(folder / "case")
    moved: list[Path] = []
    try:
        staging.mkdir()
        yield {p: staging / p.name for p in finals}
        for p in finals:
            if p.exists() and not overwrite:
                raise OutputError(f"'{p}' appeared while writing; the case's outputs were not written")
        for p in finals:
            os.replace(staging / p.name, p)
            moved.append(p)
    except OSError as exc:
        raise _write_failed(folder, exc) from None
    finally:
        if len(moved) != len(finals):
            for p in moved:
                p.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: PathLike, text: str, overwrite: bool = False) -> Path:
    """Write a text file atomically (UTF-8)."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
