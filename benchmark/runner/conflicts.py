"""The results file's conflict-aware PQ section: per oracle, PQ over clean vs conflict classes,
PQ under each harmonised label map, and PQ of each policy conflict's classes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..metrics.accumulator import PQStats
from ..results.assemble import split_masks, summarize
from ..suites.suite import Suite
from .views import ClassViews


def conflict_section(
    totals: Mapping[str, PQStats],
    harmonised: Mapping[str, Mapping[str, PQStats]],
    categories: CategorySet,
    views: ClassViews,
    suite: Suite,
) -> dict[str, Any]:
    conflict = views.conflict_mask(categories)
    out: dict[str, Any] = {}
    policies = []
    if views.graph is not None and views.target is not None:
        policies = list(views.graph.policies(target=views.target, source=views.source))
    for key in suite.conflict_oracles:
        stats = totals[key]
        section: dict[str, Any] = {}
        if conflict is not None:
            section["views"] = {
                "clean": stats.compute(~conflict).as_dict(),
                "conflict": stats.compute(conflict).as_dict(),
            }
        harm = harmonised.get(key, {})
        section["harmonised"] = {
            name: summarize(s, split_masks(views.harmonisations[name].categories)) for name, s in sorted(harm.items())
        }
        rows = []
        for p in policies:
            ids = sorted(int(i) for i in getattr(p, "target_ids", ()) if int(i) in categories)
            if not ids:
                continue
            mask = categories.mask(ids)
            row: dict[str, Any] = {"policy": str(p.id), "kind": str(getattr(p, "kind", "")), "classes": ids,
                                   "pq": stats.compute(mask).as_dict()["pq"]}
            hname = next((n for n in getattr(p, "harmonisations", ()) if n in harm), None)
            if hname:
                h = views.harmonisations[hname]
                hid = sorted({int(h.label_map[i]) for i in ids if i in h.label_map})
                hmask = h.categories.mask(hid) if hid else np.zeros(len(h.categories), dtype=bool)
                row["harmonisation"] = str(hname)
                row["pq_harmonised"] = harm[hname].compute(hmask).as_dict()["pq"]
            row["tp"] = int(stats.tp[mask].sum())
            row["fn"] = int(stats.fn[mask].sum())
            row["fp"] = int(stats.fp[mask].sum())
            rows.append(row)
        section["per_conflict"] = rows
        out[key] = section
    return out
