"""Seeded per-image bootstrap confidence intervals for PQ.

The unit of resampling is the image: a bootstrap sample draws I images with replacement, and its
per-class counts are the sums of the drawn images' counts. Drawing is done once for all splits
(same resamples, so the intervals of different splits are comparable) and vectorised: the draw
of sample b is turned into image multiplicities ``W[b, i]`` (one ``bincount``), and the per-class
sums of all samples are one matrix product ``W @ counts`` ([B, I] x [I, K]).

The interval is the percentile interval of the bootstrap PQs (panopticapi's averaging over the
classes present in each sample). Samples in which no class of a split is present are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .accumulator import PQStats

DEFAULT_N_BOOT = 1000
DEFAULT_SEED = 0
#: bound on B x I elements of the multiplicity matrix held at once (memory ~ 8 bytes each)
CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class PerImageCounts:
    """Per-image, per-class counts: tp, fp, fn int64 and iou_sum float64, each [I, K]."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    iou_sum: np.ndarray

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.tp, self.fp, self.fn, self.iou_sum)}
        if len(shapes) != 1 or self.tp.ndim != 2:
            raise ValueError(f"tp, fp, fn, iou_sum must be [I, K] arrays of one shape, got {sorted(shapes)}")

    @property
    def num_images(self) -> int:
        return int(self.tp.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.tp.shape[1])

    @classmethod
    def from_arrays(cls, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, iou_sum: np.ndarray) -> PerImageCounts:
        return cls(np.asarray(tp, dtype=np.int64), np.asarray(fp, dtype=np.int64), np.asarray(fn, dtype=np.int64),
                   np.asarray(iou_sum, dtype=np.float64))

    @classmethod
    def from_stats(cls, stats: Sequence[PQStats]) -> PerImageCounts:
        """Stack one :class:`PQStats` per image."""
        if not stats:
            raise ValueError("no per-image statistics to bootstrap")
        return cls(np.stack([s.tp for s in stats]).astype(np.int64), np.stack([s.fp for s in stats]).astype(np.int64),
                   np.stack([s.fn for s in stats]).astype(np.int64), np.stack([s.iou_sum for s in stats]))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, object]], image_ids: Sequence[str], category_ids: Sequence[int]
                  ) -> PerImageCounts:
        """From sparse rows ``{image_id, category_id, tp, fp, fn, iou_sum}`` (the per-image CSV).

        Images of `image_ids` without any row count as images with no segments (they still take
        part in the resampling)."""
        img = {str(i): n for n, i in enumerate(image_ids)}
        cat = {int(c): n for n, c in enumerate(category_ids)}
        shape = (len(image_ids), len(category_ids))
        tp, fp, fn = (np.zeros(shape, np.int64) for _ in range(3))
        iou = np.zeros(shape, np.float64)
        for r in rows:
            i, k = img[str(r["image_id"])], cat[int(r["category_id"])]  # type: ignore[call-overload]
            tp[i, k] += int(r["tp"])  # type: ignore[call-overload]
            fp[i, k] += int(r["fp"])  # type: ignore[call-overload]
            fn[i, k] += int(r["fn"])  # type: ignore[call-overload]
            iou[i, k] += float(r["iou_sum"])  # type: ignore[arg-type]
        return cls(tp, fp, fn, iou)


def pq_from_sums(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, iou_sum: np.ndarray, subset: np.ndarray | None = None
                 ) -> np.ndarray:
    """PQ of summed counts ([..., K] -> [...]), averaged over the classes present (NaN if none)."""
    denom = tp + 0.5 * fp + 0.5 * fn
    valid = denom > 0
    if subset is not None:
        valid = valid & np.asarray(subset, dtype=bool)
    pq_k = np.where(valid, iou_sum / np.where(denom > 0, denom, 1.0), 0.0)
    n = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, pq_k.sum(axis=-1) / np.maximum(n, 1), np.nan)


def multiplicities(num_images: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, I] how often each image is drawn in each bootstrap sample."""
    draws = rng.integers(0, num_images, size=(n_boot, num_images))
    offsets = (np.arange(n_boot, dtype=np.int64) * num_images)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=n_boot * num_images).reshape(n_boot, num_images)


def bootstrap_pq(counts: PerImageCounts | Sequence[PQStats], subsets: Mapping[str, np.ndarray | None], *,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """[n_boot] bootstrap PQ values per named class subset (NaN where a sample has no class of it)."""
    if not isinstance(counts, PerImageCounts):
        counts = PerImageCounts.from_stats(counts)
    if n_boot < 1:
        raise ValueError("n_boot must be >= 1")
    n_img, K = counts.num_images, counts.num_classes
    if n_img == 0:
        raise ValueError("no images to bootstrap")
    for name, s in subsets.items():
        if s is not None and np.asarray(s).shape != (K,):
            raise ValueError(f"subset {name!r} has shape {np.asarray(s).shape}, expected ({K},)")
    rng = np.random.default_rng(seed)
    stacked = np.concatenate([counts.tp, counts.fp, counts.fn, counts.iou_sum], axis=1).astype(np.float64)  # [I, 4K]
    out = {name: np.empty(n_boot) for name in subsets}
    chunk = max(1, CHUNK_ELEMENTS // n_img)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        sums = multiplicities(n_img, b, rng).astype(np.float64) @ stacked  # [b, 4K]
        tp, fp, fn, iou = sums[:, :K], sums[:, K:2 * K], sums[:, 2 * K:3 * K], sums[:, 3 * K:]
        for name, s in subsets.items():
            out[name][start:start + b] = pq_from_sums(tp, fp, fn, iou, s)
    return out


def percentile_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the finite `values`; None if there are none."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(v, [a, 1.0 - a])
    return float(lo), float(hi)


def bootstrap_ci(counts: PerImageCounts | Sequence[PQStats], subset: np.ndarray | None = None, *,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED, confidence: float = 0.95
                 ) -> tuple[float, float] | None:
    """Seeded per-image bootstrap `confidence` interval (lo, hi) of PQ over the classes of `subset`
    ([K] bool; all classes if None). None when no class of the subset has any segment."""
    return percentile_ci(bootstrap_pq(counts, {"pq": subset}, n_boot=n_boot, seed=seed)["pq"], confidence)


def bootstrap_cis(counts: PerImageCounts | Sequence[PQStats], subsets: Mapping[str, np.ndarray | None], *,
                  n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED, confidence: float = 0.95
                  ) -> dict[str, tuple[float, float] | None]:
    """:func:`bootstrap_ci` for several subsets (e.g. the splits all/things/stuff/seen/unseen) from
    the same resamples."""
    samples = bootstrap_pq(counts, subsets, n_boot=n_boot, seed=seed)
    return {name: percentile_ci(v, confidence) for name, v in samples.items()}
