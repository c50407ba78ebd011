"""Safe output writing: refuse to clobber, never leave a partial file.

Writers call :func:`check_output_path` before any work (so a bad path fails fast) and write through
:func:`atomic_output`, which writes to a hidden temporary file in the destination folder and renames
it into place only when the writer succeeded.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from .errors import OutputError

PathLike = Union[str, os.PathLike]


def check_output_path(path: PathLike, overwrite: bool = False) -> Path:
    """Validate an output file path; return it as a Path.

    Raises OutputError when the parent folder does not exist, the path is a folder, or the file
    exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.exists() and p.is_dir():
        raise OutputError(f"the output '{p}' is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"the output folder '{parent}' does not exist; create it first")
    if p.exists() and not overwrite:
        raise OutputError(f"'{p}' already exists; choose another name or pass --overwrite to replace it")
    return p


@contextmanager
def atomic_output(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same file name suffixes); move it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    final = check_output_path(path, overwrite)
    tmp = final.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{final.name}")
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"nothing was written for '{final}'")
        if final.exists() and not overwrite:  # appeared while we worked
            raise OutputError(f"'{final}' appeared while writing; it was left untouched")
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: PathLike, text: str, overwrite: bool = False) -> Path:
    """Write a text file atomically (UTF-8)."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
