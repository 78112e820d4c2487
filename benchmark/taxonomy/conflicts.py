"""Conflict-aware PQ: PQ on clean vs conflict classes, per policy, per conflict class, and under
each harmonised taxonomy (with per-class deltas).

Class groups (target classes, from the graph):

* ``conflict``: named by at least one annotation-policy note of the mapping;
* ``clean``: all other classes, split into ``clean_related`` (some relation to the source
  taxonomy) and ``clean_unlabeled`` (``unlabeled_in_source`` without a policy: plain unseen
  concepts such as fan or radiator);
* ``unlabeled_in_source``: every class with no counterpart in the source taxonomy;
* ``thing_stuff_mismatch``: classes whose ``same``/``narrower`` source class has the other
  thing/stuff kind;
* ``relation:<rel>``: by :meth:`TaxonomyGraph.source_relation`.

PQ values are fractions in [0, 1] (``PQResult.as_dict``), averaged over the classes of the group
that have at least one TP, FP or FN, as panopticapi does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.categories import CategorySet
from ..errors import TaxonomyError
from ..metrics.accumulator import PQStats
from .graph import DEFAULT_SOURCE, DEFAULT_TARGET, TaxonomyGraph
from .model import RELATION_RANK, UNLABELED, UNMAPPED


def _pq(stats: PQStats, mask: np.ndarray) -> dict[str, Any]:
    return stats.compute(mask).as_dict()


def _class_row(stats: PQStats, categories: CategorySet, class_id: int) -> dict[str, Any]:
    i = categories.index_of(class_id)
    pc = stats.per_class()
    valid = bool(pc["valid"][i])
    return {
        "pq": float(pc["pq"][i]) if valid else None,
        "sq": float(pc["sq"][i]) if valid else None,
        "rq": float(pc["rq"][i]) if valid else None,
        "tp": int(stats.tp[i]),
        "fp": int(stats.fp[i]),
        "fn": int(stats.fn[i]),
    }


def _check(stats: PQStats, categories: CategorySet, what: str) -> None:
    if stats.num_classes != len(categories):
        raise TaxonomyError(f"{what}: stats hold {stats.num_classes} classes but the category set has {len(categories)}")


def conflict_aware_summary(
    stats: PQStats,
    categories: CategorySet,
    g: TaxonomyGraph,
    *,
    target: str = DEFAULT_TARGET,
    source: str = DEFAULT_SOURCE,
    harmonised: Mapping[str, PQStats] | None = None,
) -> dict[str, Any]:
    """Summarise accumulated ``stats`` (over ``categories``, the target class list) by conflict.

    ``harmonised`` maps harmonisation names (see ``g.harmonisations(target, source)``) to stats
    accumulated with :func:`harmonised_match` over that harmonisation's categories; each gets
    its group PQs and, for every conflict class, the delta between its harmonised class's PQ and
    its own PQ.
    """
    _check(stats, categories, "conflict_aware_summary")
    target_ids = {n.id for n in g.dataset(target).nodes}
    if set(int(i) for i in categories.ids) != target_ids:
        raise TaxonomyError(f"conflict_aware_summary: the category set is not the {target} class list")
    conflict = g.conflict_ids(target, source)
    unlabeled = g.unlabeled_ids(target, source)
    mismatch = g.thing_stuff_mismatch_ids(target, source)
    rel_of = {i: g.source_relation(i, target, source) for i in target_ids}
    ids = [int(i) for i in categories.ids]

    def mask(sel: set[int] | frozenset[int]) -> np.ndarray:
        return np.array([i in sel for i in ids], dtype=bool)

    clean = target_ids - conflict
    groups: dict[str, Any] = {
        "all": _pq(stats, np.ones(len(ids), dtype=bool)),
        "clean": _pq(stats, mask(clean)),
        "conflict": _pq(stats, mask(conflict)),
        "clean_related": _pq(stats, mask(clean - unlabeled)),
        "clean_unlabeled": _pq(stats, mask(clean & unlabeled)),
        "unlabeled_in_source": _pq(stats, mask(unlabeled)),
        "thing_stuff_mismatch": _pq(stats, mask(mismatch)),
    }
    for r in (*RELATION_RANK, UNLABELED, UNMAPPED):
        sel = {i for i, v in rel_of.items() if v == r}
        if sel:
            groups[f"relation:{r}"] = _pq(stats, mask(sel))
    counts = {
        "classes": len(ids),
        "conflict": len(conflict),
        "clean": len(clean),
        "unlabeled_in_source": len(unlabeled),
        "thing_stuff_mismatch": len(mismatch),
    }

    policies = []
    class_policies: dict[int, list[str]] = {}
    for p in g.policies(target, source):
        policies.append(
            {"id": p.id, "kind": p.kind, "summary": p.summary, "target_ids": list(p.target_ids), **_pq(stats, mask(set(p.target_ids)))}
        )
        for i in p.target_ids:
            class_policies.setdefault(i, []).append(p.id)

    classes = []
    for i in sorted(conflict):
        n = g.node_by_id(target, i)
        classes.append(
            {
                "id": i,
                "name": n.name,
                "isthing": n.isthing,
                "source_relation": rel_of[i],
                "policies": class_policies.get(i, []),
                **_class_row(stats, categories, i),
            }
        )

    out: dict[str, Any] = {
        "taxonomy_sha256": g.sha256(),
        "target": target,
        "source": source,
        "counts": counts,
        "groups": groups,
        "policies": policies,
        "conflict_classes": classes,
    }
    if harmonised:
        hs = g.harmonisations(target, source)
        own_pq = stats.per_class()
        out["harmonised"] = {}
        for name, hstats in harmonised.items():
            if name not in hs:
                raise TaxonomyError(f"unknown harmonisation {name!r}; known: {', '.join(hs)}")
            h = hs[name]
            _check(hstats, h.categories, f"harmonisation {name!r}")
            hids = [int(i) for i in h.categories.ids]
            hconf = {h.label_map[i] for i in conflict}

            def hmask(sel: set[int], hids: list[int] = hids) -> np.ndarray:
                return np.array([i in sel for i in hids], dtype=bool)

            hpc = hstats.per_class()
            deltas = []
            for i in sorted(conflict):
                j = h.label_map[i]
                k_own, k_h = categories.index_of(i), h.categories.index_of(j)
                pq_own = float(own_pq["pq"][k_own]) if own_pq["valid"][k_own] else None
                pq_h = float(hpc["pq"][k_h]) if hpc["valid"][k_h] else None
                deltas.append(
                    {
                        "id": i,
                        "name": g.node_by_id(target, i).name,
                        "harmonised_id": j,
                        "harmonised_name": h.categories.categories[k_h].name,
                        "merged": j in h.groups,
                        "pq": pq_own,
                        "pq_harmonised": pq_h,
                        "delta": (pq_h - pq_own) if pq_h is not None and pq_own is not None else None,
                    }
                )
            out["harmonised"][name] = {
                "description": h.description,
                "num_classes": len(hids),
                "all": _pq(hstats, np.ones(len(hids), dtype=bool)),
                "clean": _pq(hstats, hmask(set(hids) - hconf)),
                "conflict": _pq(hstats, hmask(hconf)),
                "merged": _pq(hstats, hmask(set(h.groups))),
                "deltas": deltas,
            }
    return out
