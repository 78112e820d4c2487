"""Worker pools end promptly on every path: a task's error reaches the caller while another
worker hangs (even one that ignores SIGTERM), a worker that dies raises WorkerError instead of
waiting forever for its result, and no worker outlives the pool.

The time bounds below are hang guards (a broken teardown waits forever, or for the hung task's
600 s), not speed claims: they are many times what a working teardown needs on a loaded machine."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from ovbench.errors import WorkerError
from ovbench.metrics.pq_eval import _evaluate_chunk as _REAL_CHUNK
from ovbench.pools import worker_pool

HANG_GUARD_S = 60.0


def _task(x: int) -> int:
    if x == 0:  # hangs, deaf to Pool.terminate's SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
    if x == 1:
        time.sleep(0.2)  # let the other worker pick up the hanging task first
        raise ValueError("task 1 is bad")
    if x == 2:  # dies as if killed by the kernel's OOM killer
        os.kill(os.getpid(), signal.SIGKILL)
    return x * x


_VICTIM: dict[str, str] = {}  # image id whose chunk kills its worker (read in the forked worker)


def _dying_chunk(args):  # type: ignore[no-untyped-def]
    if any(it.image_id == _VICTIM["id"] for it in args[0]):
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_CHUNK(args)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): it is dead but not yet reaped by its parent
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_map_returns_results_and_workers_are_gone_after():
    with worker_pool(2) as pool:
        pids = [p.pid for p in pool.workers]
        assert len(pids) == 2
        assert pool.map(_task, [3, 4, 5]) == [9, 16, 25]
        assert sorted(pool.imap_unordered(_task, [6, 7])) == [36, 49]
    assert not any(_alive(p) for p in pids)


def test_error_reaches_the_caller_while_another_worker_hangs_deaf_to_sigterm():
    t = time.monotonic()
    with pytest.raises(ValueError, match="task 1 is bad"):
        with worker_pool(2, grace=1.0) as pool:
            pids = [p.pid for p in pool.workers]
            hung = pool.apply_async(_task, (0,))
            bad = pool.apply_async(_task, (1,))
            pool.wait(bad)
            pool.wait(hung)  # not reached
    assert time.monotonic() - t < HANG_GUARD_S
    assert not any(_alive(p) for p in pids)


def test_a_dead_worker_raises_worker_error_instead_of_waiting_forever():
    t = time.monotonic()
    with pytest.raises(WorkerError, match="killed by signal 9"):
        with worker_pool(2, grace=1.0) as pool:
            pool.wait(pool.apply_async(_task, (2,)))
    with pytest.raises(WorkerError, match="died"):
        with worker_pool(2, grace=1.0) as pool:
            list(pool.imap_unordered(_task, [3, 2, 4]))
    assert time.monotonic() - t < HANG_GUARD_S


def test_pq_evaluate_raises_worker_error_when_a_worker_dies(tmp_path, monkeypatch):
    """The PQ evaluator's own result loop notices the death (its results come by callback)."""
    from ovbench.data.synthetic import generate_dataset, generate_predictions
    from ovbench.metrics import pq_eval

    gt_json = generate_dataset(tmp_path / "d", 4, 0, height=24, width=32, write_images=False, workers=1)
    pred_json = generate_predictions(gt_json, tmp_path / "pred.json", seed=1, workers=1)
    monkeypatch.setattr(pq_eval, "_evaluate_chunk", _dying_chunk)
    monkeypatch.setitem(_VICTIM, "id", str(json.loads(gt_json.read_text())["annotations"][2]["image_id"]))
    with pytest.raises(WorkerError, match="died"):
        pq_eval.evaluate(gt_json, pred_json, workers=2, chunk_size=1)
