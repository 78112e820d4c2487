"""Worker process pools that are torn down promptly, also when a worker hangs or dies.

``with multiprocessing.Pool(...)`` ends with ``Pool.terminate()``, which joins every worker
without a bound: a worker that ignores SIGTERM, or a pool whose internal queue lock is held by
a worker that died, blocks the caller forever; and a worker killed mid-task (out of memory, a
crash in compiled code) leaves its result pending forever. :func:`worker_pool` instead

* waits for results in short slices and raises :class:`~ovbench.errors.WorkerError` as soon as
  one of the pool's workers has died (naming its exit code), instead of waiting forever;
* on leaving the ``with`` block, normally or by an exception, terminates the pool in a helper
  thread and waits at most ``grace`` seconds; workers still alive then are killed (SIGKILL),
  so the error of the failed task reaches the caller promptly.

Usage::

    with worker_pool(2) as pool:
        for r in pool.imap_unordered(fn, tasks):
            ...
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.pool import AsyncResult, Pool
from typing import Any, TypeVar

from .errors import WorkerError

T = TypeVar("T")
R = TypeVar("R")

#: seconds between liveness checks while waiting for a result
POLL_S = 0.5
#: seconds that Pool.terminate may take before the remaining workers are killed
GRACE_S = 5.0


class WorkerPool:
    """A started ``multiprocessing.Pool`` and the worker processes it started (see the module)."""

    def __init__(self, pool: Pool, workers: list[Any]) -> None:
        self.pool = pool
        self.workers = workers  # multiprocessing.Process objects of the pool's workers

    # ---- liveness ---------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`WorkerError` if a worker of this pool has died (workers of a running pool
        never exit on their own: any exit code means a crash or a kill)."""
        for p in self.workers:
            code = p.exitcode
            if code is not None:
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                hint = " (out of memory?)" if code == -9 else ""
                raise WorkerError(f"worker process {p.pid} died ({how}){hint}; its task is lost")

    def wait(self, result: AsyncResult) -> Any:
        """``result.get()``, checking every :data:`POLL_S` seconds that no worker died."""
        while True:
            try:
                return result.get(POLL_S)
            except mp.TimeoutError:
                self.check()

    # ---- the usual entry points, with liveness checks -------------------------------------------
    def apply_async(self, fn: Callable[..., R], args: tuple[Any, ...] = (), **kwargs: Any) -> AsyncResult:
        return self.pool.apply_async(fn, args, **kwargs)

    def imap_unordered(self, fn: Callable[[T], R], iterable: Iterable[T], chunksize: int = 1) -> Iterator[R]:
        it = self.pool.imap_unordered(fn, iterable, chunksize)
        while True:
            try:
                yield it.next(POLL_S)
            except StopIteration:
                return
            except mp.TimeoutError:
                self.check()

    def map(self, fn: Callable[[T], R], iterable: Iterable[T]) -> list[R]:
        return self.wait(self.pool.map_async(fn, iterable))

    # ---- teardown -----------------------------------------------------------------------------
    def shutdown(self, grace: float = GRACE_S) -> None:
        """Terminate the pool, waiting at most `grace` seconds before killing the workers left,
        then at most `grace` more for the pool's threads; never blocks longer than that."""
        t = threading.Thread(target=self.pool.terminate, name="ovbench-pool-terminate", daemon=True)
        t.start()
        t.join(grace)
        if t.is_alive():
            for p in self.workers:
                if p.exitcode is None:
                    p.kill()
            t.join(grace)
        for p in self.workers:
            if p.exitcode is None:  # pragma: no cover - a worker that survived SIGKILL
                p.join(0.1)


def retain_freed_memory(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> None:
    """Worker initializer: keep freed memory for reuse instead of returning it to the OS.

    glibc serves blocks above its mmap threshold (128 KiB at first) with fresh mappings and trims
    the heap's top above 128 KiB, so a worker that allocates and frees MB-sized buffers per image
    page-faults on every one of them again (on `ovbench pq`: a million faults, most of its system
    time). Raising both thresholds (sizes in bytes) makes such buffers come back from the heap.
    No effect where ``mallopt`` does not exist (not glibc)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_mmap_threshold, int(mmap_threshold))
    mallopt(m_trim_threshold, int(trim_threshold))


@contextmanager
def worker_pool(processes: int, *, initializer: Callable[[], Any] | None = None, context: str | None = None,
                grace: float = GRACE_S) -> Iterator[WorkerPool]:
    """Start `processes` workers (``multiprocessing`` start method `context`, default the
    platform's) and tear them down on exit within about ``2 * grace`` seconds at most."""
    ctx = mp.get_context(context)
    before = {id(p) for p in mp.active_children()}
    pool = ctx.Pool(processes, initializer=initializer)
    # Pool starts its workers in __init__ and names them "...PoolWorker-<n>"
    workers = [p for p in mp.active_children() if id(p) not in before and "PoolWorker" in p.name]
    wp = WorkerPool(pool, workers)
    try:
        yield wp
    finally:
        wp.shutdown(grace)


__all__ = ["WorkerPool", "worker_pool", "retain_freed_memory", "GRACE_S", "POLL_S"]
