"""The lock of a run's output folder: one ``ovbench run`` writes into a folder at a time.

``OUT/.ovbench.lock`` holds an exclusive ``flock`` for the life of the run and names its holder
(pid and host). The kernel drops the lock when the holder dies (kill -9 included), so a stale
file never blocks a later run; a second run into the same folder stops at once with an
:class:`~ovbench.errors.OutputError` naming the holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from ..errors import OutputError

LOCK_FILE = ".ovbench.lock"
#: ``--shard i/n`` runs (and torchrun ranks) lock ``.ovbench-shard-<i>-of-<n>.lock`` instead
SHARD_LOCK_PREFIX = ".ovbench-shard-"


class RunLock:
    """Context manager: ``with RunLock(out_dir): ...``. `shard` (i, n) with n > 1 takes that shard's
    lock; the unsharded lock also refuses while a shard lock is held (unless `check_shards` is False:
    the merge step of a sharded run, whose own shard lock is still held)."""

    def __init__(self, out_dir: str | Path, shard: tuple[int, int] = (0, 1), *, check_shards: bool = True) -> None:
        i, n = shard
        self.path = Path(out_dir) / (LOCK_FILE if n == 1 else f"{SHARD_LOCK_PREFIX}{i}-of-{n}.lock")
        self.check_shards = n == 1 and check_shards
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputError(f"{self.path.parent} is in use by another ovbench run ({self._holder()}); wait for it"
                                  " to finish or use another --out folder") from None
            # the previous holder may have unlinked the file between our open and our lock: retry on the new one
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        if self.check_shards:  # an unsharded run also needs every shard of a sharded run to be finished
            try:
                busy = _held_shard_lock(self.path.parent)
            except BaseException:
                os.close(fd)
                raise
            if busy is not None:
                os.close(fd)
                raise OutputError(f"{self.path.parent} is in use by a sharded ovbench run ({busy}); wait for it to finish"
                                  " or use another --out folder")
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        self._fd = fd
        return self

    def _holder(self) -> str:
        return _describe(self.path)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # unlink while locked: a waiting opener sees a new inode and retries
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _describe(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}"
    except (OSError, ValueError, AttributeError):
        return "holder unknown"


def _held_shard_lock(folder: Path) -> str | None:
    """The holder of a shard lock in `folder` that a live process holds, if any."""
    for p in sorted(folder.glob(SHARD_LOCK_PREFIX + "*.lock")):
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return f"shard {p.name[len(SHARD_LOCK_PREFIX):-len('.lock')].replace('-of-', '/')}, {_describe(p)}"
        finally:
            os.close(fd)
    return None
