"""Tiny open_clip model configs (random weights) for tests and CPU benchmarks of the VLM oracle.

Each mirrors the structure of a real model family at a fraction of the size:

* ``ovb-tiny-vit``: open_clip ``VisionTransformer`` (CLIP ViT-B-16's structure: class token,
  learnable positions, pre/post LayerNorm, projection), 2 blocks, width 64, patch 16;
* ``ovb-tiny-mapvit``: timm ``test_vit`` (patch 16, width 64, 6 blocks) with a MAP head and no
  projection, as ``ViT-B-16-SigLIP2-*`` (plus a class token, which SigLIP lacks);
* ``ovb-tiny-mapvit-hf``: the same with an HF tokenizer name (for the offline-tokenizer error);
* ``ovb-tiny-convnext``: timm ``test_convnext2`` with a linear projection (``convnext_base_w``);
* ``ovb-tiny-convnext-mlp``: the same with an MLP projection (``convnext_large_d_320``).

:func:`register_tiny_configs` writes them as JSON files into a folder and adds it to open_clip's
config registry.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

_CLIP_TEXT: dict[str, Any] = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "ovb-tiny-vit": {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
        "text_cfg": _CLIP_TEXT,
    },
    "ovb-tiny-mapvit": {
        "embed_dim": 64,
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": {"image_size": 224, "timm_model_name": "test_vit", "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1,
                     "no_causal_mask": True, "proj_bias": True, "pool_type": "last", "norm_kwargs": {"eps": 1e-6}},
    },
    "ovb-tiny-mapvit-hf": {
        "embed_dim": 64,
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": {"image_size": 224, "timm_model_name": "test_vit", "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {"context_length": 16, "vocab_size": 1000, "hf_tokenizer_name": "timm/ViT-B-16-SigLIP2-256",
                     "tokenizer_kwargs": {"clean": "canonicalize"}, "width": 64, "heads": 2, "layers": 1,
                     "no_causal_mask": True, "proj_bias": True, "pool_type": "last", "norm_kwargs": {"eps": 1e-6}},
    },
    "ovb-tiny-convnext": {
        "embed_dim": 32,
        "vision_cfg": {"timm_model_name": "test_convnext2", "timm_model_pretrained": False, "timm_pool": "",
                       "timm_proj": "linear", "timm_drop": 0.0, "timm_drop_path": 0.0, "image_size": 64},
        "text_cfg": _CLIP_TEXT,
    },
    "ovb-tiny-convnext-mlp": {
        "embed_dim": 32,
        "vision_cfg": {"timm_model_name": "test_convnext2", "timm_model_pretrained": False, "timm_pool": "",
                       "timm_proj": "mlp", "timm_drop": 0.0, "timm_drop_path": 0.0, "image_size": 64},
        "text_cfg": _CLIP_TEXT,
    },
}


def write_tiny_configs(folder: str | Path) -> Path:
    """Write every tiny config as ``<name>.json`` into ``folder``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, cfg in TINY_CONFIGS.items():
        (folder / f"{name}.json").write_text(json.dumps(copy.deepcopy(cfg), indent=1))
    return folder


def register_tiny_configs(folder: str | Path) -> list[str]:
    """Write the tiny configs into ``folder`` and add them to open_clip's registry."""
    from .loading import import_open_clip

    open_clip = import_open_clip()
    write_tiny_configs(folder)
    if not all(n in open_clip.list_models() for n in TINY_CONFIGS):
        open_clip.add_model_config(Path(folder))
    return list(TINY_CONFIGS)
