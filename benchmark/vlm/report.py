"""The results file of a VLM-oracle run (docs/results-format.md; oracle key ``vlm_segmentation``)."""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from .. import __version__
from ..data.categories import CategorySet
from ..results.assemble import per_class_rows, split_masks, summarize
from .run import ORACLE_KEY, RunTotals

PAPER = "https://arxiv.org/abs/2508.04211"
OPEN_CLIP_CODE = "https://github.com/mlfoundations/open_clip"
_PACKAGES = ("numpy", "pillow", "torch", "torchvision", "open_clip_torch", "timm")


def describe_model(name: str, tag: str | None, weights_sha256: str | None, notes: str = "") -> dict[str, Any]:
    """The ``model`` section: an open_clip model as a VLM (kind "vlm")."""
    t = (tag or "").lower()
    family: str
    data: str | None
    if t == "openai":
        family, data = "CLIP", "WIT-400M (OpenAI)"
    elif t.startswith("laion2b"):
        family, data = "OpenCLIP", "LAION-2B"
    elif t == "webli" or "siglip" in name.lower():
        family, data = "SigLIP 2" if "siglip2" in name.lower() else "SigLIP", "WebLI"
    else:
        family, data = "open_clip", tag
    return {
        "name": f"{family} {name}" + (f" ({tag})" if tag else ""),
        "adapter": "open_clip", "adapter_version": "1", "kind": "vlm",
        "paper": PAPER, "code": OPEN_CLIP_CODE, "release_date": None,
        "training_data": data, "backbone": name,
        "checkpoint_sha256": weights_sha256, "notes": (f"open_clip pretrained tag: {tag}. " if tag else "") + notes,
    }


def environment() -> dict[str, Any]:
    pkgs: dict[str, str | None] = {}
    for p in _PACKAGES:
        try:
            pkgs[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pkgs[p] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "executable": sys.executable, "packages": pkgs}


def dataset_key(name: str) -> str:
    """A results-schema key (``^[a-z][a-z0-9_]{0,63}$``) for a dataset name (e.g. a JSON file's stem)."""
    k = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "dataset"
    return (k if k[0].isalpha() else f"d_{k}")[:64]


def scalar_map(d: dict[str, Any]) -> dict[str, Any]:
    """Flatten lists / dicts into strings so the map holds scalars only (results schema: inference)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[k] = ",".join(f"{a}={b}" for a, b in sorted(v.items()))
        elif isinstance(v, (list, tuple)):
            out[k] = ",".join(str(x) for x in v)
        else:
            out[k] = v
    return out


def config_sha256(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def build_results(
    *,
    model: dict[str, Any],
    dataset: dict[str, Any],
    categories: CategorySet,
    totals: RunTotals,
    seen: frozenset[int] | None,
    taxonomy: dict[str, Any],
    inference: dict[str, Any],
    suite_config: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(results document without per_class, per-class rows, per-image rows)."""
    splits = split_masks(categories, seen)
    seen_mask = splits.get("seen")
    rows = per_class_rows(ORACLE_KEY, totals.stats, categories, seen=seen_mask)
    results: dict[str, Any] = {
        "schema_version": 2,
        "kind": "ovbench-results",
        "ovbench_version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "model": model,
        "dataset": dataset,
        "taxonomy": taxonomy,
        "suite": {"name": "vlm_oracle", "version": "1", "sha256": config_sha256(suite_config), "config": suite_config},
        "inference": scalar_map(inference),
        "environment": environment(),
        "oracles": {
            ORACLE_KEY: {
                "title": "Zero-shot VLM segmentation oracle (GT masks, mask-pooled dense CLIP features)",
                "paper_table": "1",
                "splits": summarize(totals.stats, splits),
            }
        },
        "diagnostics": {ORACLE_KEY: totals.diagnostics()},
        "timing": {ORACLE_KEY: round(totals.seconds, 3)},
    }
    return results, rows, totals.per_image_rows


def format_summary(results: dict[str, Any]) -> str:
    """One line per split: PQ / SQ / RQ in percent and the number of classes."""
    o = results["oracles"][ORACLE_KEY]
    if "splits" not in o:  # a semantic target: mIoU per split (ovbench.vlm.semantic)
        lines = []
        for name, st in o["miou_splits"].items():
            value = "  n/a" if st["miou"] is None else f"{100 * st['miou']:5.1f}"
            lines.append(f"  {name:<7} mIoU {value}  (n={st['n']})")
    else:
        lines = []
    splits = o.get("splits") or {}
    for name, s in splits.items():
        def pct(v: float | None) -> str:
            return "  n/a" if v is None else f"{100 * v:5.1f}"

        lines.append(f"  {name:<7} PQ {pct(s['pq'])}  SQ {pct(s['sq'])}  RQ {pct(s['rq'])}  (n={s['n']})")
    d = results["diagnostics"][ORACLE_KEY]
    acc = d.get("segment_accuracy")
    lines.append(f"  segments {d['num_segments']}, top-1 segment accuracy {'n/a' if acc is None else f'{100 * acc:.1f}%'}, "
                 f"empty pooling masks {d['num_empty_pooling_masks']}")
    return "\n".join(lines)
