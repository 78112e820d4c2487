"""Annotation-policy conflicts for the taxonomy page, from the taxonomy graph or given directly.

:func:`normalise_policies` accepts mappings or objects (``ovbench.taxonomy.Policy`` records) with
``id``, ``kind``, ``nodes`` (``"dataset:id"`` keys), ``summary`` and optionally ``sources`` (or
``evidence`` items with a ``source``), ``annotates`` (dataset -> what it annotates), ``target_ids``,
``eval`` (``conflict_class``, ``harmonised_group``). Node keys are labelled with class names (from
the graph when given, else from the shipped class lists).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

#: node key prefix -> shipped class list (ovbench.taxonomies)
CLASS_LISTS = {"coco": "coco_panoptic_133", "ade": "ade20k_150", "cityscapes": "cityscapes_19"}


@dataclass(frozen=True)
class Policy:
    """One policy conflict as the page shows it."""

    id: str
    kind: str
    summary: str
    nodes: tuple[tuple[str, str], ...]  # (key, label)
    evaluation: str
    sources: tuple[str, ...]
    anchor: str
    annotates: tuple[tuple[str, str], ...] = ()
    evidence: tuple[Mapping[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "summary": self.summary, "nodes": [k for k, _ in self.nodes],
                "annotates": dict(self.annotates), "evaluation": self.evaluation, "sources": list(self.sources),
                "evidence": [dict(e) for e in self.evidence]}


def _get(p: Any, name: str, default: Any = None) -> Any:
    if isinstance(p, Mapping):
        return p.get(name, default)
    return getattr(p, name, default)


@cache
def _class_names(list_name: str) -> Mapping[int, str]:
    try:
        from ..taxonomy.classes import load_class_list

        return {c.id: c.name.strip() for c in load_class_list(list_name)}
    except Exception:  # noqa: BLE001 - a missing list only costs the label, the key is still shown
        return {}


def node_label(key: str) -> str:
    """``"ade:82"`` -> ``"light, light source"`` (empty string if unknown)."""
    prefix, _, num = str(key).partition(":")
    if prefix in CLASS_LISTS and num.lstrip("-").isdigit():
        return _class_names(CLASS_LISTS[prefix]).get(int(num), "")
    return ""


def anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", str(text).lower()).strip("-") or "policy"


def _evidence(p: Any) -> tuple[dict[str, str], ...]:
    return tuple({k: str(_get(e, k, "") or "") for k in ("source", "ref", "detail")} for e in (_get(p, "evidence") or ()))


def normalise_policies(policies: Iterable[Any], *, label: Callable[[str], str] = node_label,
                       harmonised_in: Mapping[str, Sequence[str]] | None = None) -> list[Policy]:
    """Policies (mappings or objects) -> :class:`Policy` records sorted by id.

    `label` names a node key; `harmonised_in` maps a policy id to the harmonised label maps that
    resolve it."""
    out = []
    for p in policies:
        pid = str(_get(p, "id"))
        ev = _get(p, "eval") or {}
        parts = []
        targets = list(_get(p, "target_ids") or ())
        if _get(ev, "conflict_class") or targets:
            parts.append("conflict class" + (f"es {', '.join(map(str, targets))}" if len(targets) > 1 else
                                             f" {targets[0]}" if targets else ""))
        groups = list((harmonised_in or {}).get(pid, ()))
        for g in (_get(ev, "harmonised_group"), _get(p, "harmonisation")):
            if g and g not in groups:
                groups.append(str(g))
        if groups:
            parts.append(f"harmonised in {', '.join(groups)}")
        evidence = _evidence(p)
        sources = [str(x) for x in (_get(p, "sources") or ())] or list(dict.fromkeys(e["source"] for e in evidence if e["source"]))
        nodes = [str(n) for n in (_get(p, "nodes") or ())]
        annotates = _get(p, "annotates") or {}
        out.append(Policy(
            id=pid,
            kind=str(_get(p, "kind", "") or ""),
            summary=str(_get(p, "summary", "") or ""),
            nodes=tuple((n, label(n)) for n in nodes),
            evaluation="; ".join(parts) or "reported only",
            sources=tuple(sources),
            anchor=anchor(pid),
            annotates=tuple((str(k), str(v)) for k, v in annotates.items()),
            evidence=evidence,
        ))
    return sorted(out, key=lambda x: x.id)


def graph_policies() -> tuple[list[Policy] | None, str]:
    """Policies of the shipped taxonomy graph (default COCO -> ADE20K mapping), or (None, reason)
    when the graph is not available in this installation."""
    try:
        from ..taxonomy import load_graph
    except ImportError:
        return None, ("The taxonomy graph (ovbench.taxonomy.load_graph) is not available in this installation,"
                      " so the list of policy conflicts cannot be shown.")
    graph = load_graph()
    harmonised_in: dict[str, list[str]] = {}
    for spec in graph.harmonisation_specs():
        for group in spec.groups:
            if group.policy and spec.name not in harmonised_in.setdefault(group.policy, []):
                harmonised_in[group.policy].append(spec.name)

    def label(key: str) -> str:
        try:
            return str(graph.node(key).name).strip()
        except Exception:  # noqa: BLE001 - an unknown node keeps its key only
            return node_label(key)

    return normalise_policies(graph.policies(), label=label, harmonised_in=harmonised_in), ""
