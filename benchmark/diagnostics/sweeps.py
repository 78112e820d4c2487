"""``sweeps``: PQ as a function of the inference settings, from the same forward pass.

For each image, panoptic inference is re-run from the raw output (never the model) for

* every (object_mask_threshold t, overlap_threshold o) of the grids ``T x O`` (the model's own
  t0 and o0 are always added), and
* when the raw output carries FC-CLIP-style pre-ensemble logits (``in_vocab_logits``,
  ``out_vocab_logits``), every geometric-ensemble setting (alpha, beta) of the ensemble grid at
  the model's t0 / o0: class posteriors recomputed with
  :func:`ovbench.adapters.ensembles.fcclip_class_probs` (seen = the taxonomy's ``seen_protocol``
  classes, FC-CLIP's category_overlapping_mask), then the same inference.

Per image and setting the exact :class:`~ovbench.metrics.accumulator.PQStats` are kept (identical
settings' stats stored once); merged over images they give PQ per setting. The best setting and its
PQ are reported **tuned on the evaluation set**: an optimistic number, not a result to compare
models by (the default-setting PQ is the model's score).

Cost (see :mod:`ovbench.diagnostics.fusion`): one argmax map for the model's setting (shared with
the baseline oracle), updated in place along the object thresholds; overlap thresholds need no
pixel pass. Each ensemble setting needs a full argmax (new scores), so the ensemble sweep can be
restricted to every ``every``-th image (chosen by a hash of the image id; the number of images
used is reported and the model's own PQ on exactly those images is reported beside it).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..metrics.accumulator import PQStats
from . import register_diagnostic
from .base import Diagnostic
from .counts import merge_keyed
from .fusion import OwnerMap, fused_stats, fusion_survivors, image_targets, settings_counts, stats_table

DEFAULT_OBJECT_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_OVERLAP_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
DEFAULT_BETAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
REPRODUCE_ATOL = 1e-4  # a grid point "reproduces" the model when max |probs - raw class_probs| <= this
TUNED_WARNING = ("tuned on the evaluation set: the best setting is selected on the same images it is scored on, so its PQ "
                 "is optimistic; report the default-setting PQ as the model's result")


def fmt(x: float) -> str:
    return format(float(x), "g")


def threshold_key(t: float, o: float) -> str:
    return f"t={fmt(t)}|o={fmt(o)}"


def ensemble_key(a: float, b: float) -> str:
    return f"a={fmt(a)}|b={fmt(b)}"


def parse_key(key: str) -> dict[str, float]:
    """``"t=0.3|o=0.8"`` -> {"t": 0.3, "o": 0.8}."""
    return {k: float(v) for k, v in (part.split("=") for part in key.split("|"))}


def table_stats(t: Mapping[str, Sequence[int]], num_classes: int) -> PQStats:
    """Per-class PQStats of a sparse stats table (the sparse JSON form of PQStats)."""
    return PQStats.from_sparse_json(t, num_classes)


def _add_tables(a: Mapping[str, Sequence[int]], b: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Exact sum of two sparse stats tables."""
    rows: dict[int, list[int]] = {}
    for t in (a, b):
        for j, k in enumerate(t["idx"]):
            r = rows.get(k)
            v = [t["tp"][j], t["fp"][j], t["fn"][j], int(t["iou_q"][j])]
            if r is None:
                rows[k] = v
            else:
                for i in range(4):
                    r[i] += v[i]
    keys = sorted(rows)
    return {"idx": keys, "tp": [rows[k][0] for k in keys], "fp": [rows[k][1] for k in keys], "fn": [rows[k][2] for k in keys],
            "iou_q": [rows[k][3] for k in keys]}


def pack(settings: Mapping[str, dict[str, list[int]]], dedupe: bool = True) -> dict[str, Any]:
    """{setting: stats table} -> {"stats": [tables], "of": {setting: index}} (keys sorted).

    Per image (``dedupe``), settings with identical stats share one table (shards stay small);
    merged totals keep one table per setting (no content hashing on every merge), so both forms
    are canonical and :meth:`Sweeps.merge` is exactly associative.
    """
    stats: list[dict[str, list[int]]] = []
    of: dict[str, int] = {}
    uniq: dict[tuple, int] = {}
    for key in sorted(settings):
        t = settings[key]
        if dedupe:
            sig = (tuple(t["idx"]), tuple(t["tp"]), tuple(t["fp"]), tuple(t["fn"]), tuple(t["iou_q"]))
            i = uniq.get(sig)
            if i is None:
                i = uniq[sig] = len(stats)
                stats.append(t)
        else:
            i = len(stats)
            stats.append(t)
        of[key] = i
    return {"stats": stats, "of": of}


def unpack(d: Mapping[str, Any]) -> dict[str, dict[str, list[int]]]:
    return {k: d["stats"][i] for k, i in d["of"].items()}


@register_diagnostic("sweeps")
class Sweeps(Diagnostic):
    """Threshold and ensemble sweeps (see the module docstring).

    object_mask_threshold: grid of object thresholds (the model's own value is added).
    overlap_threshold:     grid of overlap thresholds (the model's own value is added).
    ensemble:              None/False to disable, or a mapping with ``alpha`` and ``beta`` grids,
                           ``model_alpha`` / ``model_beta`` (FC-CLIP: 0.4 / 0.8), ``grid``:
                           ``cross`` (alpha grid at model_beta + beta grid at model_alpha, the
                           default) or ``product``, ``every`` (1 = every image), ``source_taxonomy``
                           and ``seen_protocol`` (the seen classes of the ensemble).
    """

    name = "sweeps"

    def __init__(self, object_mask_threshold: Sequence[float] = DEFAULT_OBJECT_THRESHOLDS,
                 overlap_threshold: Sequence[float] = DEFAULT_OVERLAP_THRESHOLDS,
                 ensemble: Mapping[str, Any] | bool | None = None) -> None:
        self.t_grid = tuple(float(x) for x in object_mask_threshold)
        self.o_grid = tuple(float(x) for x in overlap_threshold)
        if not self.t_grid or not self.o_grid:
            raise ConfigError("sweeps: the threshold grids must not be empty")
        self.ensemble_on = ensemble is not False
        e: dict[str, Any] = dict(ensemble) if isinstance(ensemble, Mapping) else {}
        unknown = set(e) - {"alpha", "beta", "model_alpha", "model_beta", "grid", "every", "source_taxonomy", "seen_protocol"}
        if unknown:
            raise ConfigError(f"sweeps: unknown ensemble keys {sorted(unknown)}")
        self.alphas = tuple(float(x) for x in e.get("alpha", DEFAULT_ALPHAS))
        self.betas = tuple(float(x) for x in e.get("beta", DEFAULT_BETAS))
        self.model_alpha = float(e.get("model_alpha", 0.4))
        self.model_beta = float(e.get("model_beta", 0.8))
        self.grid = str(e.get("grid", "cross"))
        if self.grid not in ("cross", "product"):
            raise ConfigError("sweeps: ensemble grid must be 'cross' or 'product'")
        self.every = int(e.get("every", 1))
        if self.every < 1:
            raise ConfigError("sweeps: ensemble every must be >= 1")
        self.source_taxonomy = str(e.get("source_taxonomy", "coco_panoptic_133"))
        self.seen_protocol = str(e.get("seen_protocol", "fcclip_string"))
        self._seen_cache: dict[tuple, np.ndarray | None] = {}

    # ---- grids -------------------------------------------------------------------------------
    def ensemble_settings(self) -> list[tuple[float, float]]:
        if self.grid == "product":
            pts = [(a, b) for a in self.alphas for b in self.betas]
        else:
            pts = [(a, self.model_beta) for a in self.alphas] + [(self.model_alpha, b) for b in self.betas]
        out: list[tuple[float, float]] = []
        for p in pts + [(self.model_alpha, self.model_beta)]:
            if p not in out:
                out.append(p)
        return out

    def uses_ensemble(self, image_id: str) -> bool:
        """Deterministic image subsample of the ensemble sweep: crc32(image id) % every == 0."""
        return self.ensemble_on and zlib.crc32(str(image_id).encode()) % self.every == 0

    def _seen_columns(self, ctx: Any) -> np.ndarray | None:
        """[C] bool seen flags of the raw output's class columns (None: dataset unknown to the taxonomy)."""
        cats = ctx.categories
        key = (tuple(int(i) for i in cats.ids), tuple(cats.names), self.source_taxonomy, self.seen_protocol)
        if key not in self._seen_cache:
            from ..runner.views import resolve_views

            views = resolve_views(cats, self.source_taxonomy, self.seen_protocol, harmonise=False)
            self._seen_cache[key] = None if views.seen_ids is None else np.array(sorted(views.seen_ids), dtype=np.int64)
        seen_ids = self._seen_cache[key]
        return None if seen_ids is None else np.isin(np.asarray(ctx.raw.category_ids), seen_ids)

    # ---- per image ---------------------------------------------------------------------------
    def evaluate(self, ctx: Any, predictions: Mapping[str, Any], matches: Mapping[str, Any]) -> dict[str, Any]:
        from ..inference.scores import class_scores

        raw = ctx.raw
        cfg = ctx.settings.inference
        t0, o0 = float(cfg.object_mask_threshold), float(cfg.overlap_threshold)
        T = sorted(set(self.t_grid) | {t0})
        overlaps = sorted(set(self.o_grid) | {o0})
        C, N = raw.num_classes, raw.num_queries
        scores, labels = ctx.scores_with_void
        valid = labels != C
        counts: dict[str, list[int]] = {"images": [1], f"default:{threshold_key(t0, o0)}": [1]}

        # ensemble settings first: every candidate any setting keeps is resized in ONE batch
        ens: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        if self.uses_ensemble(raw.image_id):
            if raw.in_vocab_logits is None or raw.out_vocab_logits is None:
                counts["ensemble_no_logits"] = [1]
            else:
                seen = self._seen_columns(ctx)
                if seen is None:
                    counts["ensemble_no_seen_classes"] = [1]
                else:
                    from ovbench.adapters.ensembles import fcclip_class_probs

                    counts["ensemble_images"] = [1]
                    for a, b in self.ensemble_settings():
                        p = fcclip_class_probs(raw.in_vocab_logits, raw.out_vocab_logits, seen, a, b)
                        key = ensemble_key(a, b)
                        if np.abs(p - raw.class_probs).max() <= REPRODUCE_ATOL:
                            counts[f"reproduces:{key}"] = [1]
                        s, lab = class_scores(p, prob_eps=cfg.prob_eps)
                        ens.append((key, s, lab, np.nonzero((lab != C) & (s > t0))[0]))

        base_q = ctx.baseline_queries
        # the baseline oracle's argmax map (before resizing more: computing it may use the cache itself)
        base_owner, base_prob = ctx.baseline_argmax if hasattr(type(ctx), "baseline_argmax") else (None, None)
        need = np.nonzero(valid & (scores > T[0]))[0]
        for _, _, _, q in ens:
            need = np.union1d(need, q)
        col = np.full(N, -1, dtype=np.int64)
        positive = np.full(N, -1, dtype=np.int64)
        if len(need):
            probs, cols, pos = ctx.columns(need)
            col[need], positive[need] = cols, pos
        else:
            probs = np.zeros((len(ctx.gt_labels), 0), dtype=np.float32)
        targets = image_targets(ctx, positive)
        gt = ctx.gt_labels
        G1 = len(ctx.gt.segments) + 1

        out: dict[str, dict[str, list[int]]] = {}
        own = base_q[base_owner] if len(base_q) and base_owner is not None else None
        base = OwnerMap.build(probs, col, scores, gt, G1, base_q, own, base_prob if own is not None else None)

        def record(m: OwnerMap, t: float) -> None:
            done: dict[bytes, dict[str, list[int]]] = {}  # overlap values with the same survivors share the stats
            for o in overlaps:
                q = fusion_survivors(m, o, targets)
                sig = q.tobytes()
                if sig not in done:
                    done[sig] = fused_stats(m, labels, o, targets, q)
                out[threshold_key(t, o)] = done[sig]

        record(base, t0)
        if "baseline" in matches and out[threshold_key(t0, o0)] != stats_table(matches["baseline"].stats):
            counts["baseline_mismatch"] = [1]
        up = [t for t in T if t > t0]
        down = [t for t in T if t < t0][::-1]
        m = base.copy() if (up and down) else base
        for t in up:
            m.raise_threshold(t)
            record(m, t)
        m = base
        for t in down:
            m.extend(np.nonzero(valid & (scores > t))[0])
            record(m, t)

        if ens:
            out["ens:model"] = out[threshold_key(t0, o0)]
            per_setting = settings_counts(probs, col, gt, G1, [(s, q) for _, s, _, q in ens])
            for (key, _, lab, _), em in zip(ens, per_setting):
                out[f"ens:{key}"] = fused_stats(em, lab, o0, targets)
        return {"settings": pack(out), "counts": counts}

    # ---- merge -------------------------------------------------------------------------------
    def empty(self) -> dict[str, Any]:
        return {"settings": {"stats": [], "of": {}}, "counts": {}}

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        sa, sb = unpack(a["settings"]), unpack(b["settings"])
        merged = dict(sa)
        for k, t in sb.items():
            merged[k] = t if k not in merged else _add_tables(merged[k], t)
        return {"settings": pack(merged, dedupe=False), "counts": merge_keyed(a["counts"], b["counts"])}

    # ---- results -----------------------------------------------------------------------------
    def _tables(self, total: dict[str, Any], categories: Any, views: Any) -> dict[str, Any]:
        from ..results.assemble import split_masks, summarize

        K = len(categories)
        splits = split_masks(categories, None if views is None else views.seen_ids)
        settings = unpack(total["settings"])
        counts = {k: int(v[0]) for k, v in total["counts"].items()}
        images = counts.get("images", 0)
        defaults = [k[len("default:"):] for k, v in counts.items() if k.startswith("default:")]
        default = defaults[0] if len(defaults) == 1 else None

        def entry(key: str, stats_key: str) -> dict[str, Any]:
            sp = summarize(table_stats(settings[stats_key], K), splits)
            return {"splits": sp, "pq": sp["all"]["pq"]}

        thr_rows = []
        for key in sorted((k for k in settings if not k.startswith("ens:")), key=lambda k: (parse_key(k)["t"], parse_key(k)["o"])):
            p = parse_key(key)
            thr_rows.append({"object_mask_threshold": p["t"], "overlap_threshold": p["o"], "is_default": key == default,
                             **entry(key, key)})
        ens_rows = []
        model = None
        if "ens:model" in settings:
            model = entry("ens:model", "ens:model")
            for key in sorted((k for k in settings if k.startswith("ens:a=")), key=lambda k: (parse_key(k[4:])["a"], parse_key(k[4:])["b"])):
                p = parse_key(key[4:])
                ens_rows.append({"alpha": p["a"], "beta": p["b"], "is_model_default": (p["a"], p["b"]) == (self.model_alpha, self.model_beta),
                                 "reproduces_model_probs": counts.get(f"reproduces:{key[4:]}", 0), **entry(key, key)})
        return {"images": images, "default": default, "thr_rows": thr_rows, "ens_rows": ens_rows, "model": model, "counts": counts}

    @staticmethod
    def _best(rows: list[dict[str, Any]], is_default: str) -> dict[str, Any] | None:
        """Row of the largest PQ (all classes); ties go to the default, then to grid order."""
        scored = [r for r in rows if r["pq"] is not None]
        if not scored:
            return None
        top = max(r["pq"] for r in scored)
        tied = [r for r in scored if r["pq"] == top]
        return next((r for r in tied if r.get(is_default)), tied[0])

    def summarize(self, total: dict[str, Any], categories: Any, views: Any) -> dict[str, Any]:
        tb = self._tables(total, categories, views)
        counts = tb["counts"]
        thr_rows = tb["thr_rows"]
        dflt = next((r for r in thr_rows if r["is_default"]), None)
        best = self._best(thr_rows, "is_default")
        thresholds: dict[str, Any] = {
            "object_mask_threshold": sorted({r["object_mask_threshold"] for r in thr_rows}),
            "overlap_threshold": sorted({r["overlap_threshold"] for r in thr_rows}),
            "table": thr_rows,
            "default": None if dflt is None else {"object_mask_threshold": dflt["object_mask_threshold"],
                                                  "overlap_threshold": dflt["overlap_threshold"], "pq": dflt["pq"]},
            "best": None if best is None else {
                "object_mask_threshold": best["object_mask_threshold"], "overlap_threshold": best["overlap_threshold"],
                "pq": best["pq"], "delta_pq": None if dflt is None or dflt["pq"] is None else best["pq"] - dflt["pq"],
                "tuned_on_evaluation_set": True,
            },
        }
        ensemble: dict[str, Any] = {
            "enabled": self.ensemble_on, "grid": self.grid, "every": self.every,
            "model_alpha": self.model_alpha, "model_beta": self.model_beta,
            "seen_protocol": self.seen_protocol, "source_taxonomy": self.source_taxonomy,
            "images": counts.get("ensemble_images", 0),
            "images_without_logits": counts.get("ensemble_no_logits", 0),
            "images_without_seen_classes": counts.get("ensemble_no_seen_classes", 0),
        }
        if tb["ens_rows"]:
            eb = self._best(tb["ens_rows"], "is_model_default")
            model_pq = tb["model"]["pq"] if tb["model"] else None
            ensemble.update({
                "alpha": sorted({r["alpha"] for r in tb["ens_rows"]}), "beta": sorted({r["beta"] for r in tb["ens_rows"]}),
                "model": tb["model"], "table": tb["ens_rows"],
                "best": None if eb is None else {"alpha": eb["alpha"], "beta": eb["beta"], "pq": eb["pq"],
                                                 "delta_pq": None if model_pq is None else eb["pq"] - model_pq,
                                                 "tuned_on_evaluation_set": True},
            })
        return {
            "title": "PQ under other inference settings, from the same forward pass",
            "tuned_on_evaluation_set": True,
            "warning": TUNED_WARNING,
            "images": tb["images"],
            "baseline_mismatch": counts.get("baseline_mismatch", 0),
            "thresholds": thresholds,
            "ensemble": ensemble,
        }

    def rows(self, total: dict[str, Any], categories: Any, views: Any) -> list[dict[str, Any]]:
        tb = self._tables(total, categories, views)
        best_t = self._best(tb["thr_rows"], "is_default")
        best_e = self._best(tb["ens_rows"], "is_model_default") if tb["ens_rows"] else None
        out = []
        for sweep, rows, best, images in (("thresholds", tb["thr_rows"], best_t, tb["images"]),
                                          ("ensemble", tb["ens_rows"], best_e, tb["counts"].get("ensemble_images", 0))):
            for r in rows:
                row: dict[str, Any] = {
                    "sweep": sweep, "object_mask_threshold": r.get("object_mask_threshold"), "overlap_threshold": r.get("overlap_threshold"),
                    "alpha": r.get("alpha"), "beta": r.get("beta"), "images": images,
                    "is_default": bool(r.get("is_default") or r.get("is_model_default")), "is_best_tuned_on_eval": r is best,
                }
                for split, v in r["splits"].items():
                    for m in ("pq", "sq", "rq"):
                        row[f"{m}_{split}" if split != "all" else m] = v[m]
                out.append(row)
        return out
