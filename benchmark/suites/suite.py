"""Oracle suites: YAML files naming the oracles to run and their settings.

A suite is identified by name, version and the SHA-256 of its canonical content (the parsed
YAML dumped as sorted JSON, so comments and layout do not change the hash).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..oracles.matching import MatchingConfig

KNOWN_SPLITS = ("all", "things", "stuff", "seen", "unseen")
TASKS = ("panoptic", "semantic")
#: the shipped suite a target of each task gets when the user asks for ``standard``
DEFAULT_SUITE = {"panoptic": "standard", "semantic": "semantic"}


@dataclass(frozen=True)
class OracleSpec:
    key: str  # name in results files (e.g. "select_no_void")
    oracle: str  # registered oracle function (e.g. "mask_selection")
    params: dict[str, Any]
    title: str
    paper_table: str


@dataclass(frozen=True)
class Suite:
    name: str
    version: str
    description: str
    oracles: tuple[OracleSpec, ...]
    matching: MatchingConfig
    source_taxonomy: str
    seen_protocol: str
    splits: tuple[str, ...]
    fn_breakdown: tuple[str, ...]
    semantic: bool
    conflict_oracles: tuple[str, ...]
    bootstrap_samples: int
    bootstrap_seed: int
    bootstrap_level: float
    overlay_images: int
    overlay_oracles: tuple[str, ...]
    diagnostics: tuple[tuple[str, dict[str, Any]], ...] = ()
    semantic_inference: bool = False
    task: str = "panoptic"  # "panoptic" | "semantic": the kind of target dataset the suite scores
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    sha256: str = ""

    def oracle(self, key: str) -> OracleSpec:
        for o in self.oracles:
            if o.key == key:
                return o
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "config": self.config}


def suite_dir() -> Path:
    return Path(str(resources.files("ovbench.suites")))


def load_suite(name_or_path: str | Path = "standard") -> Suite:
    """Load a shipped suite by name or a suite YAML by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = suite_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            names = sorted(p.stem for p in suite_dir().glob("*.yaml"))
            raise ConfigError(f"unknown suite {str(name_or_path)!r}; shipped suites: {', '.join(names)}")
    if not path.is_file():
        raise ConfigError(f"suite file {path} does not exist")
    from ..yamlsafe import load_yaml_file

    cfg = load_yaml_file(path, ConfigError)
    return parse_suite(cfg, source=str(path))


def canonical_sha256(cfg: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def parse_suite(cfg: Any, source: str = "suite") -> Suite:
    from ..oracles import ORACLES

    if not isinstance(cfg, dict):
        raise ConfigError(f"{source}: a suite must be a mapping")
    for key in ("name", "version", "oracles"):
        if key not in cfg:
            raise ConfigError(f"{source}: missing key {key!r}")
    oracles = []
    keys = set()
    for i, o in enumerate(cfg["oracles"]):
        if not isinstance(o, dict) or "key" not in o or "oracle" not in o:
            raise ConfigError(f"{source}: oracles[{i}] needs 'key' and 'oracle'")
        if o["key"] in keys:
            raise ConfigError(f"{source}: duplicate oracle key {o['key']!r}")
        if o["oracle"] not in ORACLES:
            raise ConfigError(f"{source}: oracles[{i}] names unknown oracle {o['oracle']!r}; known: {', '.join(ORACLES.names())}")
        keys.add(o["key"])
        oracles.append(OracleSpec(str(o["key"]), str(o["oracle"]), dict(o.get("params") or {}), str(o.get("title", o["key"])), str(o.get("paper_table", ""))))
    splits = tuple(cfg.get("splits", ["all", "things", "stuff"]))
    bad = [s for s in splits if s not in KNOWN_SPLITS]
    if bad:
        raise ConfigError(f"{source}: unknown splits {bad}; known: {KNOWN_SPLITS}")
    for section in ("fn_breakdown",):
        for k in cfg.get(section, []) or []:
            if k not in keys:
                raise ConfigError(f"{source}: {section} names oracle key {k!r} not in the suite")
    task = str(cfg.get("task", "panoptic"))
    if task not in TASKS:
        raise ConfigError(f"{source}: task {task!r} is not one of {', '.join(TASKS)}")
    if task == "semantic":
        if not cfg.get("semantic"):
            raise ConfigError(f"{source}: a suite for semantic targets scores oracles by mIoU; set 'semantic: true'")
        bad = [s for s in splits if s in ("things", "stuff")]
        if bad or (cfg.get("conflict_pq") or {}).get("oracles"):
            raise ConfigError(f"{source}: a suite for semantic targets has no things/stuff splits and no conflict_pq (PQ-only)")
    conflict = tuple((cfg.get("conflict_pq") or {}).get("oracles", []))
    overlays = cfg.get("overlays") or {}
    for k in list(conflict) + list(overlays.get("oracles", [])):
        if k not in keys:
            raise ConfigError(f"{source}: oracle key {k!r} is referenced but not in the suite")
    try:
        matching = MatchingConfig(**(cfg.get("matching") or {}))
    except TypeError as exc:
        raise ConfigError(f"{source}: bad matching settings: {exc}") from exc
    boot = cfg.get("bootstrap") or {}
    diagnostics = []
    for i, d in enumerate(cfg.get("diagnostics") or []):
        if isinstance(d, str):
            d = {"name": d}
        if not isinstance(d, dict) or "name" not in d:
            raise ConfigError(f"{source}: diagnostics[{i}] needs a 'name'")
        diagnostics.append((str(d["name"]), dict(d.get("params") or {})))
    return Suite(
        name=str(cfg["name"]),
        version=str(cfg["version"]),
        description=str(cfg.get("description", "")),
        oracles=tuple(oracles),
        matching=matching,
        source_taxonomy=str(cfg.get("source_taxonomy", "coco_panoptic_133")),
        seen_protocol=str(cfg.get("seen_protocol", "fcclip_string")),
        splits=splits,
        fn_breakdown=tuple(cfg.get("fn_breakdown", []) or []),
        semantic=bool(cfg.get("semantic", False)),
        conflict_oracles=conflict,
        bootstrap_samples=int(boot.get("samples", 0)),
        bootstrap_seed=int(boot.get("seed", 0)),
        bootstrap_level=float(boot.get("level", 0.95)),
        overlay_images=int(overlays.get("images", 0)),
        overlay_oracles=tuple(overlays.get("oracles", [])),
        diagnostics=tuple(diagnostics),
        semantic_inference=bool(cfg.get("semantic_inference", False)),
        task=task,
        config=cfg,
        sha256=canonical_sha256(cfg),
    )


def suite_for_task(suite: Suite, task: str, *, requested: str | Path = "standard") -> Suite:
    """The suite to run on a target of `task`: the shipped default of that task when the user asked
    for the default ``standard`` suite; otherwise `suite` itself, which must be made for `task`."""
    if task not in TASKS:
        raise ConfigError(f"unknown dataset task {task!r}; expected one of {', '.join(TASKS)}")
    if suite.task == task:
        return suite
    if str(requested) == "standard":
        return load_suite(DEFAULT_SUITE[task])
    raise ConfigError(f"suite {suite.name!r} scores {suite.task} targets, but the dataset is {task}; "
                      f"use --suite {DEFAULT_SUITE[task]} (or a suite YAML with 'task: {task}')")
