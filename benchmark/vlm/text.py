"""Text classifier of the VLM oracle: prompt embeddings, cached on disk, and class scores.

FC-CLIP's recipe (``fcclip/fcclip.py``, ``get_text_classifier``; ``fcclip/modeling/
transformer_decoder/fcclip_transformer_decoder.py``, ``get_classification_logits``):
embed every template x phrase with the model's text tower, L2-normalise each prompt, average over
the templates of a phrase, L2-normalise again -> one row per phrase; a segment's score for a class
is the **max over that class's phrases** of the cosine similarity. (No temperature: argmax only.)

The embeddings are cached in ``<cache_dir>/text/<key>.npz`` with ``key = sha256(model, weights
sha256, prompt-set fingerprint, cache version)``; models without a known weights hash (random
init) are not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .prompts import PromptSet

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$OVBENCH_CACHE`` or ``~/.cache/ovbench``."""
    env = os.environ.get("OVBENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ovbench"


@dataclass
class TextClassifier:
    """embeddings: [S, D] float32, unit rows (one per phrase); phrase_to_class: [S] int64."""

    embeddings: np.ndarray
    phrase_to_class: np.ndarray
    num_classes: int
    key: str | None
    cache_hit: bool


def cache_key(model_name: str, weights_id: str, prompt_set: PromptSet) -> str:
    doc = {"v": CACHE_VERSION, "model": model_name, "weights": weights_id, "prompts": prompt_set.fingerprint()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def encode_prompt_set(model: Any, tokenizer: Callable[[list[str]], Any], prompt_set: PromptSet, *, device: Any = "cpu",
                      batch_size: int = 128) -> np.ndarray:
    """[S, D] float32 template-averaged, normalised phrase embeddings."""
    import torch
    import torch.nn.functional as F

    prompts = prompt_set.prompts()
    T = len(prompt_set.templates)
    S = len(prompt_set.phrases())
    chunks = []
    with torch.inference_mode():
        for i in range(0, len(prompts), batch_size):
            tokens = tokenizer(prompts[i : i + batch_size]).to(device)
            f = model.encode_text(tokens).float()
            chunks.append(F.normalize(f, dim=-1).cpu())
    feats = torch.cat(chunks).reshape(S, T, -1).mean(dim=1)
    return F.normalize(feats, dim=-1).numpy().astype(np.float32)


def build_text_classifier(
    model: Any,
    tokenizer: Callable[[list[str]], Any] | None,
    prompt_set: PromptSet,
    *,
    model_name: str,
    weights_id: str | None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    device: Any = "cpu",
    get_tokenizer: Callable[[], Callable[[list[str]], Any]] | None = None,
) -> TextClassifier:
    """Embeddings of ``prompt_set`` from the cache, or computed (and cached) with ``model``.

    ``get_tokenizer`` is called only on a cache miss, so a model whose tokenizer is unavailable
    offline still runs when its embeddings are cached.
    """
    p2c = prompt_set.phrase_to_class()
    C = len(prompt_set.classes)
    key = cache_key(model_name, weights_id, prompt_set) if weights_id and weights_id != "random-init" else None
    path = Path(cache_dir or default_cache_dir()) / "text" / f"{key}.npz" if key else None
    if use_cache and path is not None and path.is_file():
        with np.load(path) as z:
            emb = z["embeddings"]
            if z["phrase_to_class"].shape == p2c.shape and np.array_equal(z["phrase_to_class"], p2c):
                return TextClassifier(emb.astype(np.float32), p2c, C, key, True)
    if tokenizer is None:
        if get_tokenizer is None:
            raise ValueError("a tokenizer (or get_tokenizer) is needed to embed the prompts")
        tokenizer = get_tokenizer()
    emb = encode_prompt_set(model, tokenizer, prompt_set, device=device)
    if use_cache and path is not None:
        _save_npz_atomic(path, embeddings=emb, phrase_to_class=p2c)
    return TextClassifier(emb, p2c, C, key, False)


def _save_npz_atomic(path: Path, **arrays: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def class_scores(pooled: Any, clf: TextClassifier) -> Any:
    """[M, D] torch pooled embeddings -> [M, C] torch cosine scores, max over each class's phrases.

    A zero embedding (empty mask) scores 0 for every class (then argmax picks class 0, as FC-CLIP).
    """
    import torch
    import torch.nn.functional as F

    e = F.normalize(pooled.float(), dim=-1)
    t = torch.from_numpy(clf.embeddings).to(e.device)
    sim = e @ t.T  # [M, S]
    idx = torch.from_numpy(clf.phrase_to_class).to(e.device).expand(sim.shape[0], -1)
    out = torch.full((sim.shape[0], clf.num_classes), float("-inf"), device=e.device)
    return out.scatter_reduce(1, idx, sim, reduce="amax", include_self=True)
