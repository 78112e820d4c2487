"""Run an adapter through a suite: dataset -> adapter -> raw outputs -> oracles -> shards -> results.

* one forward pass per image; every oracle reads the same raw output;
* per-image shards are written atomically, so a killed run resumes (``resume=True``, the
  default) and yields identical numbers;
* ``shard=(i, n)`` processes every n-th image from the i-th; under torchrun the rank and world
  size are used; the merge step runs when every image has a shard;
* worker processes evaluate images in parallel; an adapter marked ``parallel_safe`` also
  predicts inside the workers, others predict in the main process (e.g. on the GPU).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import remove_leftovers
from ..data.dataset import PanopticDataset
from ..errors import ConfigError
from ..inference.mask2former import InferenceConfig
from ..oracles.context import SuiteSettings
from ..pools import worker_pool
from ..raw.record import RawOutput, validate_raw_output
from ..results.io import discard_staging, write_json_atomic
from ..suites.suite import DEFAULT_SUITE, Suite
from .evaluate import EvalContext, evaluate_image
from .lock import RunLock
from .manifest import RunSpec
from .merge import merge_results
from .overlays import write_overlays
from .shards import ShardStore
from .views import ClassViews, resolve_views


@dataclass
class RunOptions:
    out_dir: Path
    workers: int = 1
    shard: tuple[int, int] = (0, 1)
    limit: int | None = None
    resume: bool = True
    progress: bool = True
    inference: InferenceConfig | None = None  # override the adapter's thresholds
    extra_evaluators: Sequence[Any] = field(default_factory=tuple)


@dataclass
class _Job:
    """What a worker needs; inherited through fork."""

    adapter_name: str
    adapter_args: dict[str, Any]
    dataset: PanopticDataset
    ectx: EvalContext
    store: ShardStore
    out_dir: Path
    overlay_ids: frozenset[str]
    adapter: Any = None
    owner_pid: int = field(default_factory=os.getpid)


_JOB: _Job | None = None


def torchrun_shard() -> tuple[int, int] | None:
    """(rank, world size) when launched by torchrun / torch.distributed, else None."""
    if "WORLD_SIZE" in os.environ and "RANK" in os.environ:
        world = int(os.environ["WORLD_SIZE"])
        if world > 1:
            return int(os.environ["RANK"]), world
    return None


@dataclass
class _Prepared:
    adapter: Any
    info: Any
    inference: InferenceConfig
    views: ClassViews
    image_ids: list[str]
    spec: RunSpec
    store: ShardStore
    ectx: EvalContext


def _prepare(adapter_name: str, adapter_args: dict[str, Any], dataset: PanopticDataset, suite: Suite, options: RunOptions) -> _Prepared:
    from ovbench.adapters import get_adapter

    task = dataset_task(dataset)
    if suite.task != task:
        raise ConfigError(f"suite {suite.name!r} scores {suite.task} targets but dataset {dataset.name!r} is {task}; "
                          f"use --suite {DEFAULT_SUITE[task]} (or a suite YAML with 'task: {task}')")
    adapter = get_adapter(adapter_name, **adapter_args)
    adapter.setup(dataset.categories)
    info = adapter.info
    inference = options.inference or info.inference
    settings = SuiteSettings(inference=inference, matching=suite.matching)
    harmonise = bool(suite.conflict_oracles) or suite.task == "semantic"  # semantic: harmonised mIoU at merge time
    views = resolve_views(dataset.categories, suite.source_taxonomy, suite.seen_protocol, harmonise=harmonise)
    image_ids = dataset.image_ids()
    if options.limit is not None:
        image_ids = image_ids[: options.limit]
    if not image_ids:
        raise ConfigError(f"dataset {dataset.name!r} holds no images")
    spec = RunSpec(
        adapter={**info.to_json(), "args": {k: str(v) for k, v in sorted(adapter_args.items())}},
        dataset={"name": dataset.name, "annotation_sha256": dataset.annotation_sha256, "num_images": len(image_ids)},
        suite={"name": suite.name, "version": suite.version, "sha256": suite.sha256},
        taxonomy=views.taxonomy_json(),
        settings={"inference": inference.to_json(), "matching": suite.matching.to_json()},
    )
    store = ShardStore(Path(options.out_dir), spec.sha256())
    ectx = EvalContext(suite, dataset.categories, settings, views.harmonisations, tuple(options.extra_evaluators),
                       build_diagnostics(suite))
    return _Prepared(adapter, info, inference, views, image_ids, spec, store, ectx)


def dataset_task(dataset: Any) -> str:
    """"panoptic" or "semantic" (a reader without a ``task`` attribute is panoptic)."""
    return str(getattr(dataset, "task", "panoptic"))


def build_diagnostics(suite: Suite) -> dict[str, Any]:
    """Instances of the suite's diagnostics, by name."""
    from ..diagnostics import DIAGNOSTICS

    out = {}
    for name, params in suite.diagnostics:
        cls = DIAGNOSTICS.get(name)
        try:
            out[name] = cls(**params)
        except TypeError as exc:
            raise ConfigError(f"suite {suite.name!r}: diagnostic {name!r} does not accept {sorted(params)}: {exc}") from exc
    return out


def run_suite(adapter_name: str, adapter_args: dict[str, Any], dataset: PanopticDataset, suite: Suite, options: RunOptions) -> Path | None:
    """Run and (when every image is done) merge. Returns the results path, or None if other
    shards are still missing."""
    out_dir = Path(options.out_dir)
    shard_index, num_shards = options.shard
    tr = torchrun_shard()
    if tr is not None:
        shard_index, num_shards = tr
    if not 0 <= shard_index < num_shards:
        raise ConfigError(f"--shard {shard_index}/{num_shards}: the index must lie in [0, {num_shards})")
    prep = _prepare(adapter_name, adapter_args, dataset, suite, options)
    created = not out_dir.exists()
    mine = prep.image_ids[shard_index::num_shards]
    try:
        # one lock per shard: the shards of one run work side by side, two runs of the same shard do not
        with RunLock(out_dir, shard=(shard_index, num_shards)):
            _clean_leftovers(out_dir, None if num_shards == 1 else mine)
            try:
                return _run_locked(prep, adapter_name, adapter_args, dataset, suite, options, mine,
                                   sharded=num_shards > 1, rank=None if tr is None else tr[0])
            except BaseException:
                _remove_if_nothing_done(out_dir, prep.store, created)
                raise
    finally:
        prep.adapter.close()
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()


def _clean_leftovers(out_dir: Path, image_ids: Sequence[str] | None = None) -> None:
    """Temporary files and staging folders of failed or killed writers (we hold the lock: none is
    alive). For one shard of a sharded run (`image_ids` given), only the temporary files of its own
    images: the other shards may be writing theirs."""
    if image_ids is None:
        discard_staging(out_dir)
        remove_leftovers(out_dir)
        return
    from urllib.parse import quote

    # shard temp files are ".<id>.json.<pid>.<hex>.tmp", overlays ".<id>__<role>.png.<pid>.<hex>.tmp"
    stems = tuple(f".{quote(i, safe='')}{sep}" for i in image_ids for sep in (".json.", "__"))
    remove_leftovers(out_dir, keep=lambda name: not name.startswith(stems))


def _check_same_spec(out_dir: Path, sha: str, store: ShardStore) -> None:
    """Resuming into a folder whose shards belong to another run spec fails before any work."""
    import json

    path = out_dir / "run_spec.json"
    if not path.is_file() or not store.completed():
        return
    try:
        old = json.loads(path.read_text()).get("sha256")
    except (OSError, ValueError, AttributeError):
        old = None
    if old != sha:
        raise ConfigError(f"{out_dir} holds shards of a different run spec (model, dataset, suite or settings changed;"
                          f" {path} has sha256 {str(old)[:12]}…, this run {sha[:12]}…): use a fresh --out folder,"
                          " or --no-resume to discard the old shards")


def _remove_if_nothing_done(out_dir: Path, store: ShardStore, created: bool) -> None:
    """After a failure with no finished image, leave no trace: the run spec and empty folders go."""
    if store.completed() or (out_dir / "results.json").exists():
        return
    if created:
        (out_dir / "run_spec.json").unlink(missing_ok=True)
    for d in (store.dir, out_dir / "overlays"):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def _run_locked(prep: _Prepared, adapter_name: str, adapter_args: dict[str, Any], dataset: PanopticDataset, suite: Suite,
                options: RunOptions, mine: list[str], *, sharded: bool, rank: int | None) -> Path | None:
    global _JOB
    out_dir = Path(options.out_dir)
    store = prep.store
    if not options.resume:
        store.clear()
    else:
        _check_same_spec(out_dir, prep.spec.sha256(), store)
    write_json_atomic(out_dir / "run_spec.json", {"sha256": prep.spec.sha256(), **prep.spec.to_json()})
    done = store.completed()
    todo = [i for i in mine if i not in done]
    overlay_ids = frozenset(prep.image_ids[: suite.overlay_images])
    _JOB = _Job(adapter_name, adapter_args, dataset, prep.ectx, store, out_dir, overlay_ids, prep.adapter)
    try:
        _process_all(todo, len(mine) - len(todo), options, parallel_safe=bool(getattr(prep.adapter, "parallel_safe", False)))
    finally:
        _JOB = None
    if rank is not None:
        _barrier()
        if rank != 0:
            return None
    missing = set(prep.image_ids) - store.completed()
    if missing:
        print(f"{len(missing)} of {len(prep.image_ids)} images have no shard yet (other shards still running?); "
              f"run again with --merge-only once every shard is done")
        return None
    if not sharded:
        return merge_views(out_dir, store, prep.image_ids, prep.spec, suite, dataset, prep.views, prep.info, prep.inference)
    with RunLock(out_dir, check_shards=False):  # the merge of a sharded run: one at a time, and with no unsharded run
        discard_staging(out_dir)
        return merge_views(out_dir, store, prep.image_ids, prep.spec, suite, dataset, prep.views, prep.info, prep.inference)


def merge_only(adapter_name: str, adapter_args: dict[str, Any], dataset: PanopticDataset, suite: Suite, options: RunOptions) -> Path:
    """Merge the shards of a finished (possibly sharded) run without evaluating anything."""
    prep = _prepare(adapter_name, adapter_args, dataset, suite, options)
    prep.adapter.close()
    missing = sorted(set(prep.image_ids) - prep.store.completed())
    if missing:
        raise ConfigError(f"{len(missing)} of {len(prep.image_ids)} images have no shard in {prep.store.dir} (first: {missing[0]!r}); "
                          "finish every --shard first")
    out_dir = Path(options.out_dir)
    with RunLock(out_dir):
        _clean_leftovers(out_dir)
        return merge_views(out_dir, prep.store, prep.image_ids, prep.spec, suite, dataset, prep.views, prep.info, prep.inference)


def merge_views(out_dir: Path, store: ShardStore, image_ids: list[str], spec: RunSpec, suite: Suite, dataset: PanopticDataset,
                views: ClassViews, info: Any, inference: InferenceConfig) -> Path:
    model = info.model_json()
    for k in ("paper", "code", "release_date", "backbone"):
        if not model.get(k):
            model[k] = None
    inf = {**inference.to_json(), "num_queries": info.num_queries}
    dataset_json = {"name": dataset.name, "annotation_sha256": dataset.annotation_sha256, "num_images": len(image_ids),
                    "num_classes": len(dataset.categories), "task": dataset_task(dataset)}
    return merge_results(out_dir, store, image_ids, spec, suite, dataset.categories, views, model, inf, dataset_json,
                         diagnostics=build_diagnostics(suite))


def _barrier() -> None:
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover
        return
    if not dist.is_available():
        return
    if not dist.is_initialized() and "MASTER_ADDR" in os.environ:
        dist.init_process_group(backend="gloo")
    if dist.is_initialized():
        dist.barrier()


def _progress(total: int, initial: int, enabled: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total + initial, initial=initial, unit="img", desc="ovbench run", disable=not enabled, smoothing=0.1)


def _process_all(todo: list[str], already: int, options: RunOptions, *, parallel_safe: bool) -> None:
    bar = _progress(len(todo), already, options.progress)
    try:
        if options.workers <= 1 or len(todo) <= 1:
            for image_id in todo:
                _predict_and_evaluate(image_id)
                bar.update(1)
            return
        with worker_pool(options.workers, initializer=_one_blas_thread, context="fork") as pool:
            if parallel_safe:
                for _ in pool.imap_unordered(_predict_and_evaluate, todo, chunksize=1):
                    bar.update(1)
            else:
                assert _JOB is not None
                pending: deque = deque()
                for image_id in todo:
                    sample = _JOB.dataset.sample(image_id)
                    raw = validate_raw_output(_JOB.adapter.predict(sample), adapter=_JOB.adapter_name, num_classes=len(_JOB.dataset.categories))
                    pending.append(pool.apply_async(_evaluate_raw, (raw,)))
                    while len(pending) > 2 * options.workers:
                        pool.wait(pending.popleft())
                        bar.update(1)
                while pending:
                    pool.wait(pending.popleft())
                    bar.update(1)
    finally:
        bar.close()


def _one_blas_thread() -> None:
    """Worker processes already use every core: one BLAS/OpenMP thread each avoids oversubscription."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _adapter():  # type: ignore[no-untyped-def]
    """The adapter instance of this process: a forked worker builds its own copy."""
    from ovbench.adapters import get_adapter

    assert _JOB is not None
    if _JOB.owner_pid != os.getpid():
        _JOB.adapter = get_adapter(_JOB.adapter_name, **_JOB.adapter_args)
        _JOB.adapter.setup(_JOB.dataset.categories)
        _JOB.owner_pid = os.getpid()
    return _JOB.adapter


def _predict_and_evaluate(image_id: str) -> str:
    assert _JOB is not None
    sample = _JOB.dataset.sample(image_id)
    raw = validate_raw_output(_adapter().predict(sample), adapter=_JOB.adapter_name, num_classes=len(_JOB.dataset.categories))
    _evaluate_and_store(raw, sample)
    return image_id


def _evaluate_raw(raw: RawOutput) -> str:
    assert _JOB is not None
    _evaluate_and_store(raw, _JOB.dataset.sample(raw.image_id))
    return raw.image_id


def _evaluate_and_store(raw: RawOutput, sample: Any) -> None:
    assert _JOB is not None
    t = time.perf_counter()
    keep = _JOB.ectx.suite.overlay_oracles if sample.image_id in _JOB.overlay_ids else ()
    result, preds = evaluate_image(raw, sample.gt, _JOB.ectx, keep_predictions=keep)
    record = result.to_json()
    record["seconds"]["total"] = time.perf_counter() - t
    if preds:
        image = sample.load_image() if sample.image_path.exists() else None
        record["overlays"] = write_overlays(_JOB.out_dir, sample.image_id, image, sample.gt, preds)
    _JOB.store.write(sample.image_id, record)
