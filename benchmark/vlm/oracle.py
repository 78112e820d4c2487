"""The zero-shot VLM segmentation oracle (paper Section 4.1, Table 1) as pure functions.

Ground-truth segments are the (class-agnostic) masks; each gets the class whose text embedding is
most similar to its mask-pooled visual embedding; the prediction is then scored with panopticapi's
matching. Decisions (documented in docs/vlm-oracle.md):

* one predicted segment per **non-crowd** GT segment that has pixels in the PNG, with exactly the
  GT mask and the argmax class; the predicted segment reuses the GT segment id;
* **crowd** GT segments get no prediction: their pixels stay VOID in the prediction (they are not
  segments to recognise; panopticapi ignores crowd regions for FP anyway);
* GT segments listed in the JSON but absent from the PNG (ADE20K stuff fully painted over by
  things) cannot be predicted and remain unavoidable FNs, as for every model;
* **no merging** of same-class stuff predictions by default; ``merge_stuff=True`` merges them into
  one segment (Mask2Former's panoptic inference would), which can only lower IoU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.categories import CategorySet
from ..data.panoptic_format import VOID, PanopticMap, SegmentInfo, compact_labels, count_ids


@dataclass(frozen=True)
class OracleSegments:
    """The GT segments the oracle classifies.

    gt_index:  [S] int64 index into ``gt.segments`` of each oracle segment;
    seg_index: [H, W] int32, the oracle segment (0..S-1) of each pixel, -1 elsewhere;
    num_crowd: crowd GT segments skipped; num_empty: non-crowd GT segments without pixels.
    """

    gt_index: np.ndarray
    seg_index: np.ndarray
    num_crowd: int
    num_empty: int

    @property
    def num_segments(self) -> int:
        return int(len(self.gt_index))


def oracle_segments(gt: PanopticMap) -> OracleSegments:
    """Select the non-crowd GT segments that have pixels and index them."""
    counts = count_ids(gt.ids, gt.segment_ids())
    crowd = np.array([s.iscrowd for s in gt.segments], dtype=bool)
    keep = ~crowd & (counts > 0)
    gt_index = np.nonzero(keep)[0].astype(np.int64)
    lut = np.full(len(gt.segments) + 1, -1, dtype=np.int32)  # 0 = VOID / unlisted
    lut[1 + gt_index] = np.arange(len(gt_index), dtype=np.int32)
    compact = compact_labels(gt.ids, gt.segment_ids(), what="ground truth")
    seg_index = lut[compact].reshape(gt.ids.shape)
    return OracleSegments(gt_index, seg_index, int(crowd.sum()), int((~crowd & (counts == 0)).sum()))


def predict_classes(scores: np.ndarray) -> np.ndarray:
    """[S, C] scores -> [S] int64 dense class index (argmax; the first maximum wins ties)."""
    scores = np.asarray(scores)
    if scores.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argmax(scores, axis=1).astype(np.int64)


def oracle_prediction(gt: PanopticMap, segs: OracleSegments, classes: np.ndarray, categories: CategorySet, *,
                      merge_stuff: bool = False) -> PanopticMap:
    """The predicted panoptic map: each oracle segment = its GT mask with class ``classes[i]``
    ([S] dense indices into ``categories``). Pixels of other segments are VOID."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.shape != (segs.num_segments,):
        raise ValueError(f"expected {segs.num_segments} class predictions, got shape {classes.shape}")
    cat_ids = categories.ids[classes] if len(classes) else np.zeros(0, dtype=np.int64)
    out_id = np.array([gt.segments[int(g)].id for g in segs.gt_index], dtype=np.int64)
    if merge_stuff:
        first_of_class: dict[int, int] = {}
        isthing = categories.isthing
        for i, k in enumerate(classes.tolist()):
            if not isthing[k]:
                out_id[i] = out_id[first_of_class.setdefault(k, i)]
    lut = np.concatenate([out_id, np.array([VOID], dtype=np.int64)])  # index -1 -> VOID
    ids = lut[segs.seg_index].astype(np.int32)
    seen: set[int] = set()
    infos = []
    for i in range(segs.num_segments):
        sid = int(out_id[i])
        if sid in seen:
            continue
        seen.add(sid)
        infos.append(SegmentInfo(sid, int(cat_ids[i])))
    return PanopticMap.from_segments(ids, infos)
