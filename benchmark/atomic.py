"""Atomic file writes with unique temporary names, and one-line out-of-space errors.

Every file ovbench writes goes through :func:`write_bytes_atomic`: the bytes are written to a
temporary file ``.<name>.<pid>.<random>.tmp`` in the target folder, flushed, then renamed over
the target. Two writers never share a temporary name; a failed write removes its temporary
file; :func:`remove_leftovers` deletes the temporary files of killed writers (call it only
while holding the folder's lock, :mod:`ovbench.runner.lock`).

Out of space (``ENOSPC`` / ``EDQUOT``) becomes :class:`~ovbench.errors.OutputError` naming the
path and the number of bytes the write needed.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from .errors import OutputError

TMP_SUFFIX = ".tmp"
_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def temp_path(path: Path) -> Path:
    """A unique temporary name beside `path` (hidden, ends in ``.tmp``)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of :func:`temp_path`'s (or an older ovbench's ``.x.tmp``)."""
    return name.startswith(".") and (name.endswith(TMP_SUFFIX) or name.endswith(".tmp.npz"))


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (the single write primitive; tests fake ENOSPC here)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def out_of_space(path: Path, needed: int | None, exc: OSError) -> OutputError:
    """The one-line error for a write that ran out of space."""
    free = None
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        pass
    need = f"{needed} bytes needed" if needed is not None else "size unknown"
    have = f", {free} bytes free" if free is not None else ""
    return OutputError(f"no space left on the device writing {path} ({need}{have}): free some space and run again")


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (temporary file + rename). Raises OutputError when out of space."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in _SPACE_ERRNOS:
            raise out_of_space(path, len(data), exc) from None
        raise OutputError(f"cannot create the folder {path.parent} ({exc.strerror})") from None
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        if exc.errno in _SPACE_ERRNOS:
            raise out_of_space(path, len(data), exc) from None
        raise OutputError(f"cannot write {path} ({exc.strerror or exc})") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def _unlink_quietly(p: Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def remove_leftovers(folder: Path, *, recursive: bool = True, keep: Callable[[str], bool] | None = None) -> list[Path]:
    """Delete the temporary files of failed or killed writers under `folder` (except those whose
    name `keep` accepts); return them."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    it = folder.rglob(".*") if recursive else folder.glob(".*")
    for p in list(it):
        if is_temp_name(p.name) and p.is_file() and not p.is_symlink() and not (keep is not None and keep(p.name)):
            _unlink_quietly(p)
            removed.append(p)
    return removed
