"""Seen/unseen class splits.

``fcclip_seen_ids`` reproduces FC-CLIP's ``category_overlapping_mask``
(bytedance/fc-clip: ``fcclip/fcclip.py``, ``prepare_class_names_from_metadata``): a test class is
*seen* iff any of its prompt synonyms string-equals any synonym of any training class. The seed
paper takes its seen/unseen split from FC-CLIP (64 seen / 86 unseen ADE20K-150 classes).
"""

from __future__ import annotations

from ..data.categories import CategorySet


def fcclip_seen_ids(target: CategorySet, source: CategorySet) -> frozenset[int]:
    """Dataset ids of the `target` classes that FC-CLIP's synonym string match calls seen."""
    train_names = {s for c in source for s in (c.synonyms or (c.name,))}
    return frozenset(c.id for c in target if any(s in train_names for s in (c.synonyms or (c.name,))))
