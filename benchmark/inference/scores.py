"""Class scores of the candidates, as Mask2Former's panoptic inference derives them."""

from __future__ import annotations

import numpy as np


def class_scores(class_probs: np.ndarray, *, prob_eps: float = 0.0, drop_void: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-candidate score and label from [N, C+1] posteriors (no-object last).

    Mask2Former applies a softmax to its class input; FC-CLIP and MAFT+ feed it
    ``log(probs + 1e-8)``, so its softmax returns ``(p + eps) / sum(p + eps)``: pass
    ``prob_eps=1e-8`` to reproduce that. With ``drop_void`` the no-object column is removed
    before the softmax (the paper's "dropping the no-object logit"), which renormalises the C
    class probabilities; the void factor of FC-CLIP's posteriors cancels.

    Returns scores [N] float32 and labels [N] int64 (column index; == C means no-object).
    """
    p = np.asarray(class_probs, dtype=np.float64)
    if drop_void:
        p = p[:, :-1]
    p = p + prob_eps
    p = p / p.sum(axis=1, keepdims=True)
    labels = p.argmax(axis=1)
    scores = p[np.arange(len(p)), labels]
    return scores.astype(np.float32), labels.astype(np.int64)
