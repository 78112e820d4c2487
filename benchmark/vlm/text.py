"""Text classifier of the VLM oracle: prompt embeddings, cached on disk, and class scores.

FC-CLIP's recipe (``fcclip/fcclip.py``, ``get_text_classifier``; ``fcclip/modeling/
transformer_decoder/fcclip_transformer_decoder.py``, ``get_classification_logits``):
embed every template x phrase with the model's text tower, L2-normalise each prompt, average over
the templates of a phrase, L2-normalise again -> one row per phrase; a segment's score for a class
is the **max over that class's phrases** of the cosine similarity. (No temperature: argmax only.)

The embeddings are cached in ``<cache_dir>/text/<key>.npz`` with ``key = sha256(model, weights
sha256, prompt-set fingerprint (templates + phrases), cache version)``; models without a known
weights hash (random init) are not cached. Prompts are embedded once per run, sorted by token
length, in fixed-size batches, with a progress bar; for CLIP's causal text tower each batch is cut
to its longest prompt (:func:`encode_text_trimmed`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
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
    _on_device: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False, compare=False)

    def tensors(self, device: Any) -> tuple[Any, Any]:
        """(embeddings [S, D] float32, phrase_to_class [S] int64) as torch tensors on ``device``,
        copied there once per classifier."""
        import torch

        k = str(device)
        hit = self._on_device.get(k)
        if hit is None:
            hit = (torch.from_numpy(self.embeddings).to(device), torch.from_numpy(self.phrase_to_class).to(device))
            self._on_device[k] = hit
        return hit


def cache_key(model_name: str, weights_id: str, prompt_set: PromptSet) -> str:
    doc = {"v": CACHE_VERSION, "model": model_name, "weights": weights_id, "prompts": prompt_set.fingerprint()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def causal_text_tower(model: Any) -> bool:
    """True for open_clip's built-in CLIP text tower with a causal mask and EOT (argmax) pooling.

    For such a tower the embedding of a prompt depends only on its tokens up to the EOT token:
    every later position is padding that no earlier position attends to. So a batch can be cut to
    its longest prompt (:func:`encode_text_trimmed`) without changing the result beyond float
    rounding. SigLIP-style towers (no causal mask, last-token pooling) do not qualify."""
    import torch

    mask = getattr(model, "attn_mask", None)
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final")
    if hasattr(model, "text") or not all(hasattr(model, a) for a in needed) or not isinstance(mask, torch.Tensor):
        return False
    if getattr(model, "text_pool_type", None) != "argmax" or mask.dim() != 2:
        return False
    n = mask.shape[0]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=mask.device), 1)
    return bool(torch.isneginf(mask[upper]).all()) and bool((mask[~upper] == 0).all())


def encode_text_trimmed(model: Any, tokens: Any, length: int) -> Any:
    """``model.encode_text(tokens)`` of a :func:`causal_text_tower` model on the first ``length``
    token positions only ([B, context] -> [B, D]); every token after ``length`` must be padding (0)."""
    import torch
    from open_clip.transformer import text_global_pool

    if length < tokens.shape[1] and bool((tokens[:, length:] != 0).any()):
        raise ValueError(f"tokens beyond position {length} are not padding")
    t = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(t).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, t, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    proj = model.text_projection
    if proj is not None:
        x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return x


def encode_prompt_set(model: Any, tokenizer: Callable[[list[str]], Any], prompt_set: PromptSet, *, device: Any = "cpu",
                      batch_size: int = 256, progress: bool = False, trim: bool | None = None) -> np.ndarray:
    """[S, D] float32 template-averaged, normalised phrase embeddings.

    All S x T prompts are tokenised once, sorted by token length and embedded in batches of
    ``batch_size`` under ``torch.inference_mode``. ``trim`` (default: when
    :func:`causal_text_tower` holds) cuts each batch to its longest prompt, which for CLIP's
    77-token context and ADE20K prompts (at most ~20 tokens) is several times faster.
    ``progress`` shows a tqdm bar counted in prompts."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    prompts = prompt_set.prompts()
    T = len(prompt_set.templates)
    S = len(prompt_set.phrases())
    if trim is None:
        trim = causal_text_tower(model)
    tokens = tokenizer(prompts)
    nonpad = tokens != 0
    ctx = tokens.shape[1]
    # position after the last non-padding token (>= 1)
    lengths = torch.where(nonpad, torch.arange(1, ctx + 1).expand_as(tokens), torch.zeros_like(tokens)).amax(dim=1)
    order = torch.argsort(lengths, stable=True)
    out: Any = None
    bar = tqdm(total=len(prompts), unit="prompt", desc="text embeddings", disable=not progress, dynamic_ncols=True)
    try:
        with torch.inference_mode():
            for i in range(0, len(prompts), batch_size):
                idx = order[i : i + batch_size]
                tok = tokens[idx].to(device)
                if trim:
                    f = encode_text_trimmed(model, tok, int(lengths[idx].max()))
                else:
                    f = model.encode_text(tok)
                f = F.normalize(f.float(), dim=-1).cpu()
                if out is None:
                    out = torch.empty((len(prompts), f.shape[1]), dtype=torch.float32)
                out[idx] = f
                bar.update(len(idx))
    finally:
        bar.close()
    feats = out.reshape(S, T, -1).mean(dim=1)
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
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    batch_size: int = 256,
) -> TextClassifier:
    """Embeddings of ``prompt_set`` from the cache, or computed (and cached) with ``model``.

    ``get_tokenizer`` is called only on a cache miss, so a model whose tokenizer is unavailable
    offline still runs when its embeddings are cached. ``log`` receives one line each for the
    number of prompts, a cache hit, and a cache write (or why nothing is cached); ``progress``
    shows a progress bar while the prompts are embedded.
    """
    say = log or (lambda _msg: None)
    p2c = prompt_set.phrase_to_class()
    C = len(prompt_set.classes)
    S, T = len(p2c), len(prompt_set.templates)
    key = cache_key(model_name, weights_id, prompt_set) if weights_id and weights_id != "random-init" else None
    path = Path(cache_dir or default_cache_dir()) / "text" / f"{key}.npz" if key else None
    if use_cache and path is not None and path.is_file():
        with np.load(path) as z:
            emb = z["embeddings"]
            if z["phrase_to_class"].shape == p2c.shape and np.array_equal(z["phrase_to_class"], p2c):
                say(f"text embeddings: cache hit {path} ({S} phrases x {T} templates)")
                return TextClassifier(emb.astype(np.float32), p2c, C, key, True)
    why = ("random weights are never cached" if key is None else "--no-text-cache" if not use_cache else f"not in the cache yet ({path})")
    say(f"text embeddings: {S} phrases x {T} templates = {S * T} prompts to embed on {device} ({why})")
    if tokenizer is None:
        if get_tokenizer is None:
            raise ValueError("a tokenizer (or get_tokenizer) is needed to embed the prompts")
        tokenizer = get_tokenizer()
    emb = encode_prompt_set(model, tokenizer, prompt_set, device=device, progress=progress, batch_size=batch_size)
    if use_cache and path is not None:
        _save_npz_atomic(path, embeddings=emb, phrase_to_class=p2c)
        say(f"text embeddings: wrote cache {path}")
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
    t, p2c = clf.tensors(e.device)
    sim = e @ t.T  # [M, S]
    idx = p2c.expand(sim.shape[0], -1)
    out = torch.full((sim.shape[0], clf.num_classes), float("-inf"), device=e.device)
    return out.scatter_reduce(1, idx, sim, reduce="amax", include_self=True)
