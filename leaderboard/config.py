"""Display metadata (``columns.yaml``) and the paper's reported numbers (``reference/paper_tables.yaml``).

Both are data shipped with the package. The builder refuses a results file whose oracles, splits
or metrics have no entry in ``columns.yaml`` (an unknown column is an error, never a blank cell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

METRIC_FIELDS = ("display", "description", "unit", "higher_is_better", "group")


def package_file(*parts: str) -> Path:
    """Path of a data file shipped in ``ovbench.leaderboard``."""
    return Path(str(resources.files("ovbench.leaderboard").joinpath(*parts)))


def _read_yaml(path: Path, schema: str, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{what} file {path} does not exist (it ships with ovbench.leaderboard; reinstall, or pass its path)")
    from ..yamlsafe import load_yaml_file

    data = load_yaml_file(path, ConfigError, allow_aliases=True)  # maintainers' files: size cap only
    if not isinstance(data, Mapping) or data.get("schema") != schema:
        raise ConfigError(f"{path}: expected a mapping with 'schema: {schema}'")
    return dict(data)


@dataclass(frozen=True)
class Columns:
    """Parsed ``columns.yaml``: metrics, splits, oracles (in waterfall order) and the index columns."""

    metrics: Mapping[str, Mapping[str, Any]]
    splits: Mapping[str, Mapping[str, Any]]
    oracles: Mapping[str, Mapping[str, Any]]
    index_columns: tuple[Mapping[str, str], ...]
    source: str

    def metric(self, key: str) -> Mapping[str, Any]:
        if key not in self.metrics:
            raise ConfigError(f"unknown metric {key!r}: add an entry under 'metrics' in {self.source}")
        return self.metrics[key]

    def oracle(self, key: str) -> Mapping[str, Any]:
        if key not in self.oracles:
            raise ConfigError(f"unknown oracle {key!r}: add an entry under 'oracles' in {self.source}")
        return self.oracles[key]

    def split(self, key: str) -> Mapping[str, Any]:
        if key not in self.splits:
            raise ConfigError(f"unknown split {key!r}: add an entry under 'splits' in {self.source}")
        return self.splits[key]

    def format(self, metric: str, value: float | None) -> str:
        """A value as displayed (scaled, rounded); an em dash for None."""
        m = self.metric(metric)
        if value is None:
            return "—"
        return f"{float(value) * float(m['scale']):.{int(m['decimals'])}f}"


def metric_cell(columns: Columns, metric: str, value: float | None, ci: Any = None) -> dict[str, Any]:
    """A table cell: displayed text, raw sort value, and a CI tooltip/line for PQ."""
    m = columns.metric(metric)
    cell: dict[str, Any] = {"text": columns.format(metric, value), "value": value, "title": None, "ci": None}
    if ci is not None:
        lo, hi = (columns.format(metric, x) for x in ci)
        cell["title"] = f"95% CI {lo}–{hi} {m['unit']}".strip()
        cell["ci"] = f"[{lo}, {hi}]"
    return cell


def load_columns(path: str | Path | None = None) -> Columns:
    """Read and check ``columns.yaml`` (default: the shipped one)."""
    p = Path(path) if path is not None else package_file("columns.yaml")
    data = _read_yaml(p, "ovbench-columns/1", "column metadata")
    metrics = dict(data.get("metrics") or {})
    for key, m in metrics.items():
        missing = [f for f in (*METRIC_FIELDS, "scale", "decimals") if f not in (m or {})]
        if missing:
            raise ConfigError(f"{p}: metrics.{key} lacks {', '.join(missing)}")
    oracles = dict(data.get("oracles") or {})
    for key, o in oracles.items():
        if o.get("parent") is not None and o["parent"] not in oracles:
            raise ConfigError(f"{p}: oracles.{key}.parent {o['parent']!r} is not an oracle listed in the file")
    cols = Columns(metrics, dict(data.get("splits") or {}), oracles, tuple(data.get("index_columns") or ()), str(p))
    for i, c in enumerate(cols.index_columns):
        try:
            cols.oracle(c["oracle"]), cols.split(c["split"]), cols.metric(c["metric"])
        except (ConfigError, KeyError) as exc:
            raise ConfigError(f"{p}: index_columns[{i}]: {exc}") from None
    if not cols.index_columns:
        raise ConfigError(f"{p}: index_columns is empty: the leaderboard table would have no columns")
    return cols


def check_known(doc: Mapping[str, Any], columns: Columns, source: str) -> None:
    """Raise :class:`ConfigError` naming `source` if `doc` holds an oracle, split or metric unknown to `columns`."""
    problems = []
    for key, oracle in doc["oracles"].items():
        if key not in columns.oracles:
            problems.append(f"oracle {key!r}: add it under 'oracles'")
        for field, splits in (("splits", oracle.get("splits") or {}), ("miou_splits", oracle.get("miou_splits") or {})):
            for split, st in splits.items():
                if split not in columns.splits:
                    problems.append(f"split {split!r} (oracle {key!r}): add it under 'splits'")
                problems += [f"metric {m!r} ($.oracles.{key}.{field}.{split}): add it under 'metrics'" for m in st if m not in columns.metrics]
        for metric in ("miou", "miou_semantic_inference"):
            if metric in oracle and metric not in columns.metrics:
                problems.append(f"metric {metric!r}: add it under 'metrics'")
    for sec in (doc.get("conflict_pq") or {}).values():
        for view, st in (sec.get("views") or {}).items():
            problems += [f"metric {m!r} (conflict view {view!r}): add it under 'metrics'" for m in st if m not in columns.metrics]
    for field in ("tp", "fp", "fn", "fn_seg", "fn_cls"):
        if field not in columns.metrics:
            problems.append(f"metric {field!r} (per-class table): add it under 'metrics'")
    if problems:
        listed = "\n  ".join(dict.fromkeys(problems))
        raise ConfigError(f"{source}: unknown to {columns.source}:\n  {listed}")


@dataclass(frozen=True)
class Reference:
    """The paper's reported numbers (never mixed with ovbench's own results)."""

    label: str
    source: str
    dataset: str
    models: Mapping[str, Mapping[str, Any]]
    tables: tuple[Mapping[str, Any], ...]
    path: str

    def match(self, *names: str) -> Mapping[str, Any] | None:
        """The reference model whose key or aliases equal one of `names` (case-insensitive)."""
        wanted = {n.strip().lower() for n in names if n}
        for key, m in self.models.items():
            if wanted & {key, str(m["name"]).lower(), *(a.lower() for a in m.get("aliases", ()))}:
                return m
        return None


def load_reference(path: str | Path | None = None) -> Reference:
    """Read ``reference/paper_tables.yaml`` (default: the shipped one) and check its tables' shape."""
    p = Path(path) if path is not None else package_file("reference", "paper_tables.yaml")
    data = _read_yaml(p, "ovbench-reference/1", "paper reference")
    tables = tuple(data.get("tables") or ())
    for t in tables:
        keys = [c["key"] for c in t["columns"]]
        for i, row in enumerate(t["rows"]):
            extra, missing = set(row) - set(keys), set(keys) - set(row)
            if extra or missing:
                raise ConfigError(f"{p}: {t['id']} row {i}: unknown keys {sorted(extra)}, missing keys {sorted(missing)}")
        if "groups" in t and sum(g["span"] for g in t["groups"]) != len(keys):
            raise ConfigError(f"{p}: {t['id']}: group spans do not add up to {len(keys)} columns")
    return Reference(str(data["label"]), str(data["source"]), str(data["dataset"]), dict(data.get("models") or {}), tables, str(p))
