"""Run one adapter on many target datasets: ``ovbench run --datasets all | a,b | targets.yaml``.

Each target gets its own output folder ``OUT/<dataset name>/`` (shards, results.json), so resume
and ``--shard i/n`` work per target exactly as for one dataset. The suite follows each target's
task: the default ``standard`` suite becomes ``semantic`` on semantic-only targets (a target list
may name a suite per target). A target whose data is not on disk is SKIPPED with the message that
lists every path tried; nothing is skipped silently, and ``OUT/targets.json`` records every
target's outcome. A target list YAML (``schema: ovbench-targets/1``)::

    schema: ovbench-targets/1
    name: my_targets
    targets:
      - coco_panoptic_val                      # in-domain reference
      - ade20k_panoptic_val
      - {dataset: pascal_ctx_59_sem_seg_val, suite: semantic}

``benchmark/suites/targets/openvocab.yaml`` ships the standard open-vocabulary list
(``--datasets openvocab``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, DatasetError
from ..results.io import write_json_atomic
from ..suites.suite import load_suite, suite_dir, suite_for_task

TARGETS_SCHEMA = "ovbench-targets/1"
TARGETS_FILE = "targets.json"
MAX_TARGETS_YAML_BYTES = 64 * 1024  # a target list is a few lines; refuse anything large


@dataclass(frozen=True)
class Target:
    """One dataset to run, with the suite requested for it (None: the run's suite)."""

    dataset: str
    suite: str | None = None


@dataclass
class TargetOutcome:
    """What happened to one target: ``ran`` (results written), ``pending`` (other shards still
    missing), ``skipped`` (data not found; `message` says where it was looked for)."""

    dataset: str
    status: str
    out_dir: Path
    results: Path | None = None
    suite: str | None = None
    task: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "status": self.status, "out_dir": str(self.out_dir),
                "results": None if self.results is None else str(self.results), "suite": self.suite,
                "task": self.task, "message": self.message}


def catalog_names() -> list[str]:
    """Every dataset of the catalog, in its order."""
    from ..data.catalog import DATASETS

    return list(DATASETS.names())


def parse_targets(spec: str) -> list[Target]:
    """``all`` (every catalog dataset), a comma-separated list of names, or a target-list YAML
    (a path, or the name of a shipped one under benchmark/suites/targets/, e.g. ``openvocab``)."""
    text = spec.strip()
    if not text:
        raise ConfigError("--datasets: empty; give 'all', a comma-separated list of dataset names, or a targets YAML")
    if text == "all":
        return [Target(n) for n in catalog_names()]
    path = Path(text)
    shipped = suite_dir() / "targets" / f"{text}.yaml"
    if text.endswith((".yaml", ".yml")) or (not path.suffix and "," not in text and shipped.is_file() and text not in catalog_names()):
        return load_targets_yaml(path if path.suffix else shipped)
    names = [n.strip() for n in text.split(",") if n.strip()]
    return [Target(_known(n, "--datasets")) for n in _unique(names, "--datasets")]


def load_targets_yaml(path: Path) -> list[Target]:
    """Targets of a target-list YAML; ConfigError naming the file and field on any problem."""
    if not path.is_file():
        raise ConfigError(f"--datasets: targets file {path} does not exist")
    if path.stat().st_size > MAX_TARGETS_YAML_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size} bytes; a targets file holds at most {MAX_TARGETS_YAML_BYTES}")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(cfg, dict) or cfg.get("schema") != TARGETS_SCHEMA:
        raise ConfigError(f"{path}: expected a mapping with 'schema: {TARGETS_SCHEMA}' and 'targets: [...]'")
    items = cfg.get("targets")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}: 'targets' must be a non-empty list of dataset names or {{dataset, suite}} mappings")
    out = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(Target(_known(item, f"{path}: targets[{i}]")))
        elif isinstance(item, dict) and isinstance(item.get("dataset"), str) and set(item) <= {"dataset", "suite"}:
            suite = item.get("suite")
            if suite is not None and not isinstance(suite, str):
                raise ConfigError(f"{path}: targets[{i}].suite must be a suite name or path")
            out.append(Target(_known(item["dataset"], f"{path}: targets[{i}].dataset"), suite))
        else:
            raise ConfigError(f"{path}: targets[{i}] must be a dataset name or a mapping with 'dataset' (and optional 'suite'), got {item!r}")
    _unique([t.dataset for t in out], str(path))
    return out


def _known(name: str, where: str) -> str:
    names = catalog_names()
    if name not in names:
        raise ConfigError(f"{where}: unknown dataset {name!r}; known: {', '.join(names)}")
    return name


def _unique(names: Sequence[str], where: str) -> list[str]:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"{where}: dataset {n!r} is listed twice")
        seen.add(n)
    return list(names)


def run_targets(
    adapter_name: str,
    adapter_args: dict[str, Any],
    targets: Sequence[Target],
    options: Any,
    *,
    suite: str = "standard",
    root: str | Path | None = None,
    merge_only: bool = False,
    log: Callable[[str], None] = print,
) -> list[TargetOutcome]:
    """Run (or merge) every target into ``options.out_dir / <dataset>``; write ``targets.json``.

    `options` is a :class:`~ovbench.runner.run.RunOptions` for the whole run (workers, shard,
    limit, resume); only its ``out_dir`` changes per target. Returns one outcome per target.
    """
    from ..data.catalog import get_dataset
    from .run import dataset_task, run_suite
    from .run import merge_only as merge_target

    out_root = Path(options.out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    outcomes: list[TargetOutcome] = []
    for i, t in enumerate(targets):
        out_dir = out_root / t.dataset
        log(f"[{i + 1}/{len(targets)}] {t.dataset}")
        try:
            ds = get_dataset(t.dataset, root)
        except DatasetError as exc:
            msg = str(exc)
            log(f"  skipped: {msg}")
            outcomes.append(TargetOutcome(t.dataset, "skipped", out_dir, message=msg))
            continue
        task = dataset_task(ds)
        requested = t.suite or suite
        chosen = suite_for_task(load_suite(requested), task, requested=requested)
        opts = dataclasses.replace(options, out_dir=out_dir)
        log(f"  {task} target, suite {chosen.name!r} -> {out_dir}")
        path = merge_target(adapter_name, adapter_args, ds, chosen, opts) if merge_only else run_suite(adapter_name, adapter_args, ds, chosen, opts)
        outcomes.append(TargetOutcome(t.dataset, "ran" if path is not None else "pending", out_dir, path, chosen.name, task))
    write_json_atomic(out_root / TARGETS_FILE, {"kind": "ovbench-targets-run", "targets": [o.to_json() for o in outcomes]})
    return outcomes
