"""Class-posterior recipes of FC-CLIP and MAFT+ (pure numpy; no detectron2 needed).

FC-CLIP (bytedance/fc-clip ``fcclip/fcclip.py``, eval branch; after ODISE):
    p_in  = softmax(in_vocab_logits[:, :C]),  p_out = softmax(out_vocab_logits[:, :C])
    cls   = log(p_in^(1-a) * p_out^a) on seen classes, log(p_in^(1-b) * p_out^b) on unseen ones
    void  = softmax(in_vocab_logits)[:, C]
    probs = [softmax(cls) * (1 - void), void]
MAFT+ (jiaosiyu1999/MAFT-Plus ``maft/maft_plus.py``): cls = out_vocab_logits[:, :C] only, the same
void factor from the in-vocabulary head.

Both are computed in log space here, so a probability that underflows to 0 gives -inf in the
log and never the NaN that the reference's ``(0 ** a).log() * 0`` can produce; elsewhere the
values are the reference's.
"""

from __future__ import annotations

import numpy as np


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def _with_void(cls_log: np.ndarray, in_vocab_logits: np.ndarray) -> np.ndarray:
    p = np.exp(_log_softmax(cls_log))
    void = np.exp(_log_softmax(in_vocab_logits))[:, -1:]
    return np.concatenate([p * (1.0 - void), void], axis=1).astype(np.float32)


def fcclip_class_probs(in_vocab_logits: np.ndarray, out_vocab_logits: np.ndarray, seen: np.ndarray, alpha: float = 0.4, beta: float = 0.8) -> np.ndarray:
    """[N, C+1] in-vocab logits (void last), [N, C] out-vocab logits, [C] bool seen -> [N, C+1] probs."""
    C = out_vocab_logits.shape[1]
    lp_in = _log_softmax(in_vocab_logits[:, :C])
    lp_out = _log_softmax(out_vocab_logits)
    a = np.where(np.asarray(seen, dtype=bool), alpha, beta)[None, :]
    return _with_void((1.0 - a) * lp_in + a * lp_out, in_vocab_logits)


def maftplus_class_probs(in_vocab_logits: np.ndarray, out_vocab_logits: np.ndarray) -> np.ndarray:
    """MAFT+: CLIP (out-vocab) classes only, void from the in-vocab head -> [N, C+1] probs."""
    return _with_void(out_vocab_logits, in_vocab_logits)
