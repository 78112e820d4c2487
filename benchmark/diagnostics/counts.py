"""Exact, mergeable integer tables for diagnostics (per-class counts, histograms).

Per-image records and merged totals share one JSON form, so ``merge`` works on both and is
associative, commutative and exact (Python integers, no floats):

* a *class table* ``{"idx": [k, ...], "<field>": [v, ...], ...}`` holds, for the dense class
  indices ``idx`` (sorted, only classes with a nonzero entry), one integer per field;
* a *keyed table* ``{"<key>": [v, ...]}`` maps a string key (a histogram bin, a setting) to a
  fixed-length list of integers.

Real-valued quantities (IoUs, probabilities) are summed as integers in fixed units of
``1 / QUANT`` (each value rounded to the nearest unit once, per candidate or segment), so a sum is
exact and its mean is correct to ``0.5 / QUANT``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

QUANT = 1_000_000  # fixed-point unit of IoU and probability sums: 1e-6


def quantize(x: np.ndarray) -> np.ndarray:
    """[...] float in [0, 1] -> [...] int64 ``round(x * QUANT)`` (units of 1e-6)."""
    return np.rint(np.asarray(x, dtype=np.float64) * QUANT).astype(np.int64)


def class_table(fields: Mapping[str, np.ndarray]) -> dict[str, list[int]]:
    """Sparse class table of dense [K] int arrays (all of the same length)."""
    names = list(fields)
    if not names:
        return {"idx": []}
    arrs = [np.asarray(fields[n], dtype=np.int64) for n in names]
    nz = np.zeros(len(arrs[0]), dtype=bool)
    for a in arrs:
        nz |= a != 0
    idx = np.nonzero(nz)[0]
    out: dict[str, list[int]] = {"idx": idx.tolist()}
    for n, a in zip(names, arrs):
        out[n] = a[idx].tolist()
    return out


def merge_class_tables(a: Mapping[str, Sequence[int]], b: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Exact sum of two sparse class tables (fields missing on one side count as zeros)."""
    fields = [f for f in list(a) + [f for f in b if f not in a] if f != "idx"]
    acc: dict[int, dict[str, int]] = {}
    for t in (a, b):
        for j, k in enumerate(t.get("idx", [])):
            row = acc.setdefault(int(k), {})
            for f in fields:
                if f in t:
                    row[f] = row.get(f, 0) + int(t[f][j])
    keys = sorted(k for k, row in acc.items() if any(v != 0 for v in row.values()))
    out: dict[str, list[int]] = {"idx": keys}
    for f in fields:
        out[f] = [acc[k].get(f, 0) for k in keys]
    return out


def dense_class_table(t: Mapping[str, Sequence[int]], num_classes: int, fields: Sequence[str]) -> dict[str, np.ndarray]:
    """Sparse class table -> {field: [K] int64} (Python ints beyond int64 are not expected:
    counts and 1e-6 units over a dataset stay far below 2^63)."""
    idx = np.asarray(t.get("idx", []), dtype=np.int64)
    out = {}
    for f in fields:
        a = np.zeros(num_classes, dtype=np.int64)
        if f in t and len(idx):
            a[idx] = np.asarray(t[f], dtype=np.int64)
        out[f] = a
    return out


def merge_keyed(a: Mapping[str, Sequence[int]], b: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Exact element-wise sum of two keyed tables (keys sorted in the result)."""
    out: dict[str, list[int]] = {}
    for t in (a, b):
        for k, v in t.items():
            cur = out.get(k)
            if cur is None:
                out[k] = [int(x) for x in v]
            else:
                if len(cur) != len(v):
                    raise ValueError(f"keyed table entry {k!r}: lengths {len(cur)} and {len(v)} differ")
                out[k] = [x + int(y) for x, y in zip(cur, v)]
    return {k: out[k] for k in sorted(out)}


def keyed_from_counts(counts: np.ndarray) -> dict[str, list[int]]:
    """[B, F] int counts -> keyed table {"b": [F ints]} of the rows with a nonzero entry."""
    counts = np.asarray(counts, dtype=np.int64)
    return {str(b): counts[b].tolist() for b in np.nonzero((counts != 0).any(axis=1))[0].tolist()}


def dense_keyed(t: Mapping[str, Sequence[int]], num_bins: int, width: int) -> np.ndarray:
    """Keyed table with integer keys 0..num_bins-1 -> [num_bins, width] int64."""
    out = np.zeros((num_bins, width), dtype=np.int64)
    for k, v in t.items():
        out[int(k)] = np.asarray(v, dtype=np.int64)
    return out


def ratio(num: int | float, den: int | float) -> float | None:
    """num / den, or None when den == 0 (results files hold no NaN)."""
    return None if den == 0 else float(num) / float(den)


def class_groups(categories: Any, views: Any) -> dict[str, np.ndarray]:
    """[K] bool masks of the class groups a diagnostic reports: all, things, stuff, and, when
    the taxonomy knows the dataset, seen / unseen and conflict / clean."""
    K = len(categories)
    groups = {"all": np.ones(K, dtype=bool), "things": np.asarray(categories.isthing, dtype=bool),
              "stuff": ~np.asarray(categories.isthing, dtype=bool)}
    seen = views.seen_mask(categories) if views is not None else None
    if seen is not None:
        groups["seen"], groups["unseen"] = seen, ~seen
    conflict = views.conflict_mask(categories) if views is not None else None
    if conflict is not None:
        groups["conflict"], groups["clean"] = conflict, ~conflict
    return groups


def per_class_rows(d: Mapping[str, np.ndarray], present: str, fields: Sequence[str], rates: Any, categories: Any,
                   views: Any) -> list[dict[str, Any]]:
    """One row per class with ``d[present] > 0``: identity, seen/conflict flags (None when the
    dataset has no taxonomy view) and ``rates({field: count})``."""
    seen = views.seen_mask(categories) if views is not None else None
    conflict = views.conflict_mask(categories) if views is not None else None
    out = []
    for k in np.nonzero(d[present] > 0)[0].tolist():
        c = categories.categories[k]
        row: dict[str, Any] = {"category_id": int(c.id), "name": c.name, "isthing": bool(c.isthing),
                               "seen": None if seen is None else bool(seen[k]),
                               "conflict": None if conflict is None else bool(conflict[k])}
        row.update(rates({f: int(d[f][k]) for f in fields}))
        out.append(row)
    return out
