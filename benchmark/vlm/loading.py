"""Load an open_clip vision-language model from local weights only (never downloads).

Weights come from, in this order:

1. ``checkpoint`` = a file -> ``open_clip.create_model(name, pretrained=FILE)`` (``.bin``, ``.pt``,
   ``.pth``, ``.safetensors``; ``.npz`` for big_vision SigLIP);
2. ``checkpoint`` = a folder or ``local-dir:FOLDER`` holding ``open_clip_config.json`` and a weights
   file (a copy of the Hugging Face repo) -> ``create_model("local-dir:FOLDER")``;
3. ``pretrained`` = an open_clip tag whose files are already in the Hugging Face cache
   (looked up with ``huggingface_hub.try_to_load_from_cache``, which never touches the network).

Anything else is a :class:`CheckpointNotFound` that says where to put the weights. Pixel
normalisation (mean/std) comes from the local-dir config, else the tag's pretrained config, else
the model's tags when they all agree (otherwise pass the tag: OpenCLIP ViT-L-14 LAION-2B uses 0.5/0.5).
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependency

CLIP_HINT = "install the clip extra: pip install 'ovbench[clip]' (torch, torchvision, open_clip_torch, timm)"
DOCS = "docs/vlm-oracle.md"


class CheckpointNotFound(ConfigError):
    """The weights of the requested model are not on this machine."""


class TokenizerUnavailable(ConfigError):
    """The model's tokenizer cannot be built offline (e.g. SigLIP's Hugging Face tokenizers)."""


@dataclass(frozen=True)
class VLMSpec:
    """What to load. ``model``: an open_clip model name (``ViT-B-16``, ``convnext_large_d_320``,
    ``ViT-B-16-SigLIP2-256`` ...); ``pretrained``: an open_clip tag; ``checkpoint``: a file or
    (``local-dir:``) folder; ``precision``: fp32 | fp16 | bf16 (open_clip's ``precision``)."""

    model: str
    pretrained: str | None = None
    checkpoint: str | None = None
    device: str = "cpu"
    precision: str = "fp32"
    cache_dir: str | None = None


@dataclass
class LoadedVLM:
    """A model in eval mode plus what is needed to run and to report it.

    mean / std: per-channel pixel normalisation on the [0, 1] scale (RGB).
    weights_id: a string that identifies the weights (sha256 of the file, or "random-init").
    """

    model: Any
    spec: VLMSpec
    weights_source: str
    weights_sha256: str | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    preprocess_source: str
    tokenizer_id: str
    notes: list[str] = field(default_factory=list)

    @property
    def weights_id(self) -> str:
        return self.weights_sha256 or self.weights_source


def require_clip() -> None:
    """Check that the ``[clip]`` extra is installed (torch, open_clip, timm) without loading a model;
    otherwise a one-line :class:`MissingDependency` naming the extra."""
    import importlib

    missing = []
    for module in ("torch", "open_clip", "timm"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{module} ({exc})")
    if missing:
        raise MissingDependency(f"the VLM oracle needs the clip extra, missing: {'; '.join(missing)}. {CLIP_HINT}")


def import_open_clip() -> Any:
    """Import open_clip with the Hugging Face hub forced offline (HF_HUB_OFFLINE=1)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import open_clip
    except ImportError as exc:
        raise MissingDependency(f"the VLM oracle needs open_clip: {CLIP_HINT} ({exc})") from exc
    return open_clip


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _where_to_put(model: str, open_clip: Any, tag: str | None = None) -> str:
    repos = []
    for t in [tag] if tag else list(open_clip.list_pretrained_tags_by_model(model))[:4]:
        cfg = open_clip.get_pretrained_cfg(model, t) or {}
        if cfg.get("hf_hub"):
            repos.append(f"{t}: {cfg['hf_hub'].rstrip('/')}")
    repo_txt = ("; Hugging Face repos of its tags: " + ", ".join(repos)) if repos else ""
    return (
        "pass --checkpoint PATH, where PATH is either a weights file that "
        f"open_clip.create_model({model!r}, pretrained=PATH) loads (.bin/.pt/.pth/.safetensors, e.g. the repo's "
        "open_clip_pytorch_model.bin), or a folder (or local-dir:FOLDER) holding open_clip_config.json plus "
        "open_clip_model.safetensors or open_clip_pytorch_model.bin (a copy of the Hugging Face repo); or pass "
        "--pretrained TAG with the tag's files already in the Hugging Face cache ($HF_HOME/hub, default "
        f"~/.cache/huggingface/hub, or --hf-cache-dir DIR){repo_txt}. ovbench never downloads weights; see {DOCS}."
    )


def _check_model_name(open_clip: Any, name: str) -> str:
    cleaned = name.replace("/", "-")
    if cleaned not in open_clip.list_models():
        close = difflib.get_close_matches(cleaned, open_clip.list_models(), n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"unknown open_clip model {name!r}{hint} (register a custom config with --model-config FILE, or use a local-dir checkpoint)"
        )
    return cleaned


def _cached_tag_file(open_clip: Any, name: str, tag: str, cache_dir: str | None) -> str | None:
    """Path of a tag's weights in the local cache, or None. Never touches the network."""
    cfg = open_clip.get_pretrained_cfg(name, tag)
    if not cfg:
        return None
    if cfg.get("file"):
        return cfg["file"] if os.path.isfile(cfg["file"]) else None
    hub = cfg.get("hf_hub", "")
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None
        repo, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        if filename and filename.endswith(".bin"):
            names.insert(0, filename[: -len(".bin")].replace("pytorch_model", "model") + ".safetensors")
        for fn in names:
            p = try_to_load_from_cache(repo_id=repo, filename=fn, cache_dir=cache_dir)
            if isinstance(p, str) and os.path.isfile(p):
                return p
        return None
    url = cfg.get("url", "")
    if url:
        root = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "clip"
        p = root / os.path.basename(url)
        return str(p) if p.is_file() else None
    return None


def _tag_mean_std(open_clip: Any, name: str, tag: str) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    if "mean" in cfg and "std" in cfg:
        return tuple(float(x) for x in cfg["mean"]), tuple(float(x) for x in cfg["std"])
    return None


def resolve_mean_std(open_clip: Any, model: Any, name: str, tag: str | None, local_dir: bool) -> tuple[tuple, tuple, str]:
    """(mean, std, source) for pixel normalisation; see the module docstring for the order."""
    if local_dir:
        cfg = open_clip.get_model_preprocess_cfg(model)
        return tuple(cfg["mean"]), tuple(cfg["std"]), "local-dir open_clip_config.json"
    if tag:
        ms = _tag_mean_std(open_clip, name, tag)
        if ms is not None:
            return ms[0], ms[1], f"pretrained tag {tag!r}"
    tags = list(open_clip.list_pretrained_tags_by_model(name))
    found = {t: _tag_mean_std(open_clip, name, t) for t in tags}
    distinct = {v for v in found.values() if v is not None}
    if len(distinct) == 1:
        mean, std = distinct.pop()
        return mean, std, f"all {len(tags)} pretrained tags of {name} agree"
    if len(distinct) > 1:
        listing = "; ".join(f"{t}: mean {v[0]} std {v[1]}" for t, v in found.items() if v)
        raise ConfigError(
            f"the pretrained tags of {name} use different pixel normalisations ({listing}); pass --pretrained TAG "
            "to say which one the checkpoint belongs to"
        )
    cfg = open_clip.get_model_preprocess_cfg(model)
    return tuple(cfg["mean"]), tuple(cfg["std"]), "open_clip default (no pretrained tag known)"


def load_vlm(spec: VLMSpec, *, allow_random: bool = False) -> LoadedVLM:
    """Build the model of ``spec`` with local weights (see the module docstring).

    ``allow_random`` (benchmarks, tests): without weights on disk (no checkpoint, and a tag that
    is absent from the cache or no tag), build a randomly initialised model instead of raising
    :class:`CheckpointNotFound`; a tag still sets the pixel normalisation.
    """
    open_clip = import_open_clip()

    ckpt = spec.checkpoint
    is_dir = ckpt is not None and (ckpt.startswith("local-dir:") or Path(ckpt).is_dir())
    if not is_dir:
        _check_model_name(open_clip, spec.model)
    local_dir: Path | None = None
    weights_file: str | None = None
    source = ""
    if ckpt:
        if ckpt.startswith("local-dir:"):
            local_dir = Path(ckpt[len("local-dir:"):])
            if not local_dir.is_dir():
                raise CheckpointNotFound(f"checkpoint folder {local_dir} does not exist; " + _where_to_put(spec.model, open_clip, spec.pretrained))
        elif Path(ckpt).is_dir():
            local_dir = Path(ckpt)
        elif Path(ckpt).is_file():
            weights_file = ckpt
        else:
            raise CheckpointNotFound(f"checkpoint {ckpt} does not exist; " + _where_to_put(spec.model, open_clip, spec.pretrained))
        if local_dir is not None and not (local_dir / "open_clip_config.json").is_file():
            raise CheckpointNotFound(
                f"checkpoint folder {local_dir} has no open_clip_config.json; " + _where_to_put(spec.model, open_clip, spec.pretrained)
            )
    name = spec.model if local_dir is not None else _check_model_name(open_clip, spec.model)
    if local_dir is None and spec.pretrained and spec.pretrained not in open_clip.list_pretrained_tags_by_model(name):
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(name)) or "none"
        raise ConfigError(f"{name} has no pretrained tag {spec.pretrained!r} (tags: {tags})")
    if local_dir is None and weights_file is None and spec.pretrained:
        weights_file = _cached_tag_file(open_clip, name, spec.pretrained, spec.cache_dir)
        if weights_file is None and not allow_random:
            raise CheckpointNotFound(
                f"the weights of {name} / {spec.pretrained} are not in the local cache; " + _where_to_put(name, open_clip, spec.pretrained)
            )
    if local_dir is None and weights_file is None and not allow_random:
        raise CheckpointNotFound(f"no weights given for {name}; " + _where_to_put(name, open_clip, spec.pretrained))

    kwargs: dict[str, Any] = {"device": spec.device, "precision": spec.precision}
    try:
        if local_dir is not None:
            model = open_clip.create_model(f"local-dir:{local_dir}", **kwargs)
            found = _find_dir_weights(local_dir)
            if found is None:
                raise CheckpointNotFound(f"checkpoint folder {local_dir} holds no weights file; " + _where_to_put(spec.model, open_clip, spec.pretrained))
            weights_file = found
            source = f"local-dir:{local_dir}"
        elif weights_file is not None:
            model = open_clip.create_model(name, pretrained=weights_file, **kwargs)
            source = f"file:{weights_file}" if spec.checkpoint else f"tag:{spec.pretrained} ({weights_file})"
        else:
            model = open_clip.create_model(name, pretrained=None, **kwargs)
            source = "random-init"
    except (CheckpointNotFound, ConfigError):
        raise
    except Exception as exc:  # open_clip raises RuntimeError / KeyError / size mismatches
        raise ConfigError(f"could not load {spec.model} from {spec.checkpoint or spec.pretrained}: {exc}") from exc
    model.eval()
    mean, std, pp_source = resolve_mean_std(open_clip, model, name, spec.pretrained, local_dir is not None)
    return LoadedVLM(
        model=model,
        spec=spec,
        weights_source=source,
        weights_sha256=sha256_file(weights_file) if weights_file else None,
        mean=tuple(float(x) for x in mean),  # type: ignore[arg-type]
        std=tuple(float(x) for x in std),  # type: ignore[arg-type]
        preprocess_source=pp_source,
        tokenizer_id=f"local-dir:{local_dir}" if local_dir is not None else name,
    )


def _find_dir_weights(folder: Path) -> str | None:
    preferred = ["open_clip_model.safetensors", "open_clip_pytorch_model.safetensors", "open_clip_pytorch_model.bin",
                 "open_clip_pytorch_model.pth", "model.safetensors", "pytorch_model.bin", "pytorch_model.pth", "model.pth"]
    for n in preferred:
        if (folder / n).is_file():
            return str(folder / n)
    for ext in ("*.safetensors", "*.bin", "*.pth"):
        hits = sorted(folder.glob(ext))
        if hits:
            return str(hits[0])
    return None


def load_tokenizer(loaded: LoadedVLM) -> Callable[[list[str]], Any]:
    """The model's open_clip tokenizer, or :class:`TokenizerUnavailable` with what to do."""
    open_clip = import_open_clip()
    try:
        return open_clip.get_tokenizer(loaded.tokenizer_id)
    except Exception as exc:  # ImportError (no transformers), OSError (hub offline), ValueError ...
        raise TokenizerUnavailable(
            f"cannot build the tokenizer of {loaded.spec.model} offline ({type(exc).__name__}: {exc}). SigLIP/SigLIP2 use "
            "Hugging Face tokenizers: install transformers and sentencepiece (pip install 'ovbench[hf]') and put the "
            "tokenizer files (tokenizer.json, tokenizer_config.json, special_tokens_map.json, ...) into the local-dir "
            "checkpoint folder, or pre-fill the Hugging Face cache with the tokenizer repo and keep HF_HUB_OFFLINE=1; "
            f"see {DOCS}"
        ) from exc


def register_model_config(path: str | Path) -> list[str]:
    """Add an open_clip model config JSON (or a folder of them); returns the names it defines."""
    open_clip = import_open_clip()
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"model config {p} does not exist")
    before = set(open_clip.list_models())
    open_clip.add_model_config(p)
    names = sorted(set(open_clip.list_models()) - before) or ([p.stem] if p.is_file() else [])
    return names
