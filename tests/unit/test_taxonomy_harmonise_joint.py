"""Harmonised matching from the joint histogram equals harmonising the maps and matching again."""

import numpy as np

from ovbench.data.panoptic_format import PanopticMap, SegmentInfo
from ovbench.metrics.matching import match_image
from ovbench.taxonomy import harmonised_match, load_graph
from ovbench.taxonomy.harmonise import harmonised_stats_from_joint


def _random_map(rng, shape, cats, crowd=False):
    ids = rng.integers(0, 7, size=shape).astype(np.int32)
    # blocky segments, so that IoUs above 0.5 occur
    ids = np.repeat(np.repeat(ids[::4, ::4], 4, axis=0), 4, axis=1)[: shape[0], : shape[1]]
    present = sorted(set(ids.ravel().tolist()) - {0})
    segs = [SegmentInfo(i, int(rng.choice(cats)), bool(crowd and rng.random() < 0.2)) for i in present]
    return PanopticMap.from_segments(ids, segs)


def test_joint_shortcut_equals_remapping_the_maps():
    g = load_graph()
    cs = g.classes("ade20k_150")
    rng = np.random.default_rng(0)
    pool = [0, 22, 57, 39, 82, 36, 85, 43, 3, 7, 15, 19, 30]  # wall, painting, pillow, cushion, lights, sign, ...
    tps = changed = 0
    for trial in range(40):
        gt = _random_map(rng, (24, 28), pool, crowd=True)
        ids = gt.ids.copy()
        flip = rng.random(ids.shape) < 0.1
        ids[flip] = rng.integers(0, 7, size=int(flip.sum()))
        cat_of = {s.id: (s.category_id if rng.random() < 0.5 else int(rng.choice(pool))) for s in gt.segments}
        present = sorted(set(ids.ravel().tolist()) - {0})
        pred = PanopticMap.from_segments(ids, [SegmentInfo(i, cat_of.get(i, int(rng.choice(pool)))) for i in present])
        joint = match_image(gt, pred, cs).overlaps.joint
        for name, h in g.harmonisations().items():
            fast = harmonised_stats_from_joint(joint, gt, pred, h)
            assert fast == harmonised_match(gt, pred, h, cs), (trial, name)
            tps += int(fast.tp.sum())
            changed += int(fast.tp.sum() != match_image(gt, pred, cs).stats.tp.sum())
    assert tps > 100 and changed > 10  # the cases exercise matches and merges that change them
