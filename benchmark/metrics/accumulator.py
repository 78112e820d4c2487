"""Mergeable per-class panoptic statistics.

:class:`PQStats` holds, per class of a :class:`CategorySet` (dense index), the TP/FP/FN counts
and the sum of TP IoUs. It is both the per-image record and the accumulator: ``a + b`` merges,
and merging is exact, associative and commutative, so sharded, resumed and parallel runs give
bit-identical numbers.

Exactness: every TP has IoU in (0.5, 1], and a float64 in that range is an integer multiple of
2^-53. The IoU sum is therefore kept as the exact integer ``iou_q = sum(iou * 2^53)`` (Python
ints, no overflow), and converted to float once, correctly rounded, at compute time.
panopticapi sums floats in image order; the two differ by at most a few ulps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

IOU_SCALE = 1 << 53


def iou_to_fixed(iou: np.ndarray) -> np.ndarray:
    """[T] float64 IoUs in (0.5, 1] -> [T] int64 exact fixed-point values iou * 2^53."""
    iou = np.asarray(iou, dtype=np.float64)
    if iou.size and not ((iou > 0.5).all() and (iou <= 1.0).all()):
        raise ValueError("TP IoUs must lie in (0.5, 1]")
    q = iou * float(IOU_SCALE)
    qi = q.astype(np.int64)
    if not (qi == q).all():  # pragma: no cover - impossible for float64 in (0.5, 1]
        raise ValueError("IoU in (0.5, 1] must be a multiple of 2^-53")
    return qi


@dataclass(frozen=True)
class PQResult:
    """PQ, SQ, RQ averaged over the ``n`` classes of a subset that have tp + fp + fn > 0
    (panopticapi's ``pq_average``). Values are fractions in [0, 1]; NaN when n == 0."""

    pq: float
    sq: float
    rq: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"pq": _finite_or_none(self.pq), "sq": _finite_or_none(self.sq), "rq": _finite_or_none(self.rq), "n": self.n}


def _finite_or_none(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


@dataclass
class PQStats:
    """Per-class panoptic counts. tp, fp, fn: [K] int64; iou_q: [K] object array of Python ints."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    iou_q: np.ndarray

    @classmethod
    def zeros(cls, num_classes: int) -> PQStats:
        iou_q = np.empty(num_classes, dtype=object)
        iou_q[:] = [0] * num_classes
        z = np.zeros(num_classes, dtype=np.int64)
        return cls(z.copy(), z.copy(), z.copy(), iou_q)

    @property
    def num_classes(self) -> int:
        return len(self.tp)

    def __add__(self, other: PQStats) -> PQStats:
        if other.num_classes != self.num_classes:
            raise ValueError(f"cannot merge stats over {self.num_classes} and {other.num_classes} classes")
        return PQStats(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.iou_q + other.iou_q)

    def __iadd__(self, other: PQStats) -> PQStats:
        if other.num_classes != self.num_classes:
            raise ValueError(f"cannot merge stats over {self.num_classes} and {other.num_classes} classes")
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.iou_q = self.iou_q + other.iou_q
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PQStats):
            return NotImplemented
        return (
            np.array_equal(self.tp, other.tp)
            and np.array_equal(self.fp, other.fp)
            and np.array_equal(self.fn, other.fn)
            and list(self.iou_q) == list(other.iou_q)
        )

    @property
    def iou_sum(self) -> np.ndarray:
        """[K] float64 sums of TP IoUs, each correctly rounded from the exact value."""
        return np.array([int(q) / IOU_SCALE for q in self.iou_q], dtype=np.float64)

    def per_class(self) -> dict[str, np.ndarray]:
        """Per-class pq, sq, rq [K] float64 (0 where a class has no segments, as panopticapi)."""
        tp = self.tp.astype(np.float64)
        denom = tp + 0.5 * self.fp + 0.5 * self.fn
        iou = self.iou_sum
        with np.errstate(divide="ignore", invalid="ignore"):
            pq = np.where(denom > 0, iou / np.where(denom > 0, denom, 1), 0.0)
            sq = np.where(tp > 0, iou / np.where(tp > 0, tp, 1), 0.0)
            rq = np.where(denom > 0, tp / np.where(denom > 0, denom, 1), 0.0)
        return {"pq": pq, "sq": sq, "rq": rq, "valid": denom > 0}

    def compute(self, subset: np.ndarray | None = None) -> PQResult:
        """Average over the classes of `subset` ([K] bool; all classes if None) that have
        tp + fp + fn > 0, as panopticapi's ``pq_average``; n == 0 gives NaNs (panopticapi
        raises ZeroDivisionError)."""
        if subset is not None and np.asarray(subset).shape != (self.num_classes,):
            raise ValueError(f"subset mask must have shape ({self.num_classes},), got {np.asarray(subset).shape}")
        pc = self.per_class()
        sel = pc["valid"] if subset is None else (pc["valid"] & np.asarray(subset, dtype=bool))
        n = int(sel.sum())
        if n == 0:
            return PQResult(math.nan, math.nan, math.nan, 0)
        # math.fsum: correctly rounded, so the average does not depend on class order
        return PQResult(
            math.fsum(pc["pq"][sel].tolist()) / n, math.fsum(pc["sq"][sel].tolist()) / n, math.fsum(pc["rq"][sel].tolist()) / n, n
        )

    # ---- serialisation (shards, resume) -------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp.tolist(),
            "fp": self.fp.tolist(),
            "fn": self.fn.tolist(),
            "iou_q": [str(int(q)) for q in self.iou_q],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Sequence[Any]]) -> PQStats:
        iou_q = np.empty(len(d["iou_q"]), dtype=object)
        iou_q[:] = [int(q) for q in d["iou_q"]]
        return cls(
            np.asarray(d["tp"], dtype=np.int64),
            np.asarray(d["fp"], dtype=np.int64),
            np.asarray(d["fn"], dtype=np.int64),
            iou_q,
        )

    def to_sparse_json(self) -> dict[str, list[Any]]:
        """Only the classes with a nonzero count (compact per-image shards)."""
        idx = np.nonzero((self.tp > 0) | (self.fp > 0) | (self.fn > 0))[0]
        return {
            "idx": idx.tolist(),
            "tp": self.tp[idx].tolist(),
            "fp": self.fp[idx].tolist(),
            "fn": self.fn[idx].tolist(),
            "iou_q": [str(int(self.iou_q[i])) for i in idx],
        }

    @classmethod
    def from_sparse_json(cls, d: Mapping[str, Sequence[Any]], num_classes: int) -> PQStats:
        s = cls.zeros(num_classes)
        idx = np.asarray(d["idx"], dtype=np.int64)
        s.tp[idx] = d["tp"]
        s.fp[idx] = d["fp"]
        s.fn[idx] = d["fn"]
        for i, q in zip(idx.tolist(), d["iou_q"]):
            s.iou_q[i] = int(q)
        return s

    @classmethod
    def sum(cls, items: Sequence[PQStats], num_classes: int) -> PQStats:
        out = cls.zeros(num_classes)
        for s in items:
            out += s
        return out
