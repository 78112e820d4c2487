"""Hungarian assignment of ground-truth segments to candidate masks (the mask-selection oracle).

Cost as Mask2Former's ``HungarianMatcher`` without its class term (the paper names only BCE +
Dice): ``C = mask_weight * BCE + dice_weight * Dice (+ class_weight * -p(gt class))`` with
weights 5 / 5 (/ 0), solved with ``scipy.optimize.linear_sum_assignment``.

Where Mask2Former samples 12544 random points (unseeded), we evaluate the cost on a regular
grid of about ``num_points`` cells of the mask-logit frame, so the oracle is deterministic: a
candidate's logits are read at the cell directly (no interpolation) and the target is the GT
segment at the original-resolution pixel under the cell centre (cells in the padding are
background). Crowd segments and segments with no pixels are not targets (Mask2Former's
training targets exclude crowd).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.panoptic_format import PanopticMap
from ..raw.record import MaskGeometry, RawOutput


@dataclass(frozen=True)
class MatchingConfig:
    mask_weight: float = 5.0
    dice_weight: float = 5.0
    class_weight: float = 0.0
    num_points: int = 12544  # about this many mask cells on a regular grid; 0 = every cell

    def to_json(self) -> dict[str, float]:
        return {"mask_weight": self.mask_weight, "dice_weight": self.dice_weight, "class_weight": self.class_weight, "num_points": self.num_points}


@dataclass(frozen=True)
class Assignment:
    """Matched pairs, sorted by candidate index. gt_index [M] indexes ``gt.segments``; queries [M]
    are candidate indices; cost [M] float64 is each pair's matching cost."""

    gt_index: np.ndarray
    queries: np.ndarray
    cost: np.ndarray


def grid_points(mask_hw: tuple[int, int], geometry: MaskGeometry, num_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Regular grid of mask cells and the original-image pixel under each cell centre.

    Returns (rows [R], cols [Cc]) of mask cells, and (orig_rows [R], orig_cols [Cc]) pixel
    indices, -1 where the cell centre lies in the padding.
    """
    hm, wm = mask_hw
    stride = 1 if num_points <= 0 else max(1, int(np.floor(np.sqrt(hm * wm / num_points))))
    rows = np.arange(stride // 2, hm, stride)
    cols = np.arange(stride // 2, wm, stride)

    def to_orig(idx: np.ndarray, n_mask: int, padded: int, inp: int, orig: int) -> np.ndarray:
        pos = (idx + 0.5) * padded / n_mask  # continuous coordinate in the padded input frame
        out = np.floor(pos * orig / inp).astype(np.int64)
        return np.where(pos < inp, np.clip(out, 0, orig - 1), -1)

    (H, W), (h, w), (Hp, Wp) = geometry.orig_size, geometry.input_size, geometry.padded_size
    return rows, cols, to_orig(rows, hm, Hp, h, H), to_orig(cols, wm, Wp, w, W)


def matching_costs(raw: RawOutput, gt: PanopticMap, gt_labels: np.ndarray, config: MatchingConfig, targets: np.ndarray) -> np.ndarray:
    """[N, M] float64 cost between every candidate and the GT segments `targets` (indices)."""
    N, hm, wm = raw.mask_logits.shape
    H, W = gt.shape
    rows, cols, orow, ocol = grid_points((hm, wm), raw.geometry, config.num_points)
    P = len(rows) * len(cols)
    valid = (orow[:, None] >= 0) & (ocol[None, :] >= 0)
    pix = (np.clip(orow, 0, None)[:, None] * W + np.clip(ocol, 0, None)[None, :]).reshape(-1)
    lab = np.where(valid.reshape(-1), gt_labels[pix], 0)  # 1 + segment index, 0 = background
    target_of_label = np.full(len(gt.segments) + 1, -1, dtype=np.int64)
    target_of_label[np.asarray(targets, dtype=np.int64) + 1] = np.arange(len(targets))
    tcol = target_of_label[lab]
    M = len(targets)
    # the grid points grouped by target (background first), read from the logits in one gather
    order = np.argsort(tcol, kind="stable")
    bounds = np.searchsorted(tcol[order], np.arange(-1, M + 1))  # points of target m: bounds[m+1]:bounds[m+2]
    cells = (rows[:, None] * wm + cols[None, :]).reshape(-1)[order]
    X = np.take(raw.mask_logits.reshape(N, hm * wm), cells, axis=1).astype(np.float32, copy=False)  # [N, P]
    # Every sum is over one candidate's row in a fixed order (numpy's float64 sums along a row), so
    # a candidate's costs depend only on its own logits: identical masks get identical costs
    # wherever they sit in the batch (no BLAS product, whose blocking depends on the batch).
    e = np.exp(-np.abs(X))  # one exp serves both: softplus(x) = max(x, 0) + log(1 + exp(-|x|))
    e += 1.0
    softplus_sum = np.maximum(X, 0).sum(axis=1, dtype=np.float64) + np.log(e).sum(axis=1, dtype=np.float64)
    sig = np.reciprocal(e)  # 1 / (1 + exp(-|x|)) = sigmoid(|x|)
    np.subtract(1.0, sig, out=sig, where=X < 0)  # sigmoid(x) = 1 - sigmoid(-x) for x < 0
    xt = np.empty((N, M), dtype=np.float64)
    st = np.empty((N, M), dtype=np.float64)
    for m in range(M):
        a, b = bounds[m + 1], bounds[m + 2]
        xt[:, m] = X[:, a:b].sum(axis=1, dtype=np.float64)
        st[:, m] = sig[:, a:b].sum(axis=1, dtype=np.float64)
    t_sum = np.diff(bounds[1:]).astype(np.float64).reshape(1, M)
    cost_mask = (softplus_sum[:, None] - xt) / P
    cost_dice = 1.0 - (2.0 * st + 1.0) / (sig.sum(axis=1, dtype=np.float64)[:, None] + t_sum + 1.0)
    cost = config.mask_weight * cost_mask + config.dice_weight * cost_dice
    if config.class_weight:
        cats = [gt.segments[t].category_id for t in targets]
        col = {int(c): i for i, c in enumerate(raw.category_ids)}
        cls_cols = np.array([col[int(c)] for c in cats], dtype=np.int64)
        cost = cost - config.class_weight * raw.class_probs[:, cls_cols].astype(np.float64)
    return cost


def matching_targets(gt: PanopticMap, gt_labels: np.ndarray) -> np.ndarray:
    """Indices of GT segments that are matching targets: not crowd, at least one pixel."""
    counts = np.bincount(gt_labels, minlength=len(gt.segments) + 1)[1:]
    return np.array([i for i, s in enumerate(gt.segments) if not s.iscrowd and counts[i] > 0], dtype=np.int64)


def hungarian_assignment(raw: RawOutput, gt: PanopticMap, gt_labels: np.ndarray, config: MatchingConfig) -> Assignment:
    """Minimum-cost one-to-one assignment of target GT segments to candidates."""
    targets = matching_targets(gt, gt_labels)
    if len(targets) == 0:
        z = np.zeros(0, dtype=np.int64)
        return Assignment(z, z, np.zeros(0))
    cost = matching_costs(raw, gt, gt_labels, config, targets)
    q, t = linear_sum_assignment(cost)
    order = np.argsort(q)
    q, t = q[order], t[order]
    return Assignment(targets[t].astype(np.int64), q.astype(np.int64), cost[q, t])
