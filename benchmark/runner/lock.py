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


class RunLock:
    """Context manager: ``with RunLock(out_dir): ...``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.path = Path(out_dir) / LOCK_FILE
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
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        self._fd = fd
        return self

    def _holder(self) -> str:
        try:
            info = json.loads(self.path.read_text() or "{}")
            return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}"
        except (OSError, ValueError):
            return "holder unknown"

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
