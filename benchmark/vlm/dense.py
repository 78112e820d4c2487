"""Dense image features in the joint vision-language space (paper Section 4.1, Fig. 3).

Three encoders, chosen from the structure of ``model.visual`` by :func:`make_dense_encoder`:

* ``vit-maskclip`` (open_clip ``VisionTransformer``: OpenAI CLIP, OpenCLIP ViTs). MaskCLIP
  (Zhou et al., ECCV'22; volgachen/MaskCLIP ``mmseg/models/backbones/vit.py``): every block but the
  last runs unchanged; in the last block self-attention is replaced by its value path,
  ``v = out_proj(W_v LN1(x) + b_v)``, ``x' = x + ls_1(v)``, ``x' = x' + ls_2(MLP(LN2(x')))``; then
  ``ln_post`` and the visual projection on every patch token; the class token is dropped.
* ``timm-vit-map`` (open_clip ``TimmModel`` around a timm ``VisionTransformer`` with a MAP
  attention-pool head: SigLIP / SigLIP 2). The trunk runs unchanged (blocks + final norm); the MAP
  head's attention is replaced by its value path per token, ``v = proj(W_v x + b_v)``, followed by
  the head's own MLP residual ``v + MLP(norm(v))``, then ``fc_norm``/``head`` and open_clip's head.
  This is ovbench's reading of "MaskCLIP" for a MAP head: when every token is identical, the MAP
  output equals this value path exactly (a latent query attending over equal values).
* ``convnext`` (open_clip ``TimmModel`` around a timm ``ConvNeXt``: OpenCLIP ConvNeXt-B/L). The
  global average pool is dropped; ``trunk.head.norm`` (LayerNorm over channels) and open_clip's
  ``visual.head`` (linear or MLP projection) are applied at every location ("project then pool",
  the paper's order; MAFT+'s ``visual_prediction_forward_convnext``). ``order="pool_project"``
  returns the stride-32 trunk features and a head to apply *after* mask pooling (FC-CLIP's order,
  ``fcclip/fcclip.py``), which equals ``encode_image`` when the mask covers the whole image.

Positional embeddings are resized from the pretraining grid to the input grid with bicubic
interpolation (``align_corners=False``, ``antialias=True``, as open_clip's and timm's resizers; the
anti-aliasing only matters when a grid shrinks).

Inputs are ``[B, 3, Hp, Wp]`` normalised images with ``Hp, Wp`` multiples of ``encoder.stride``.
Outputs are float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

CONVNEXT_ORDERS = ("project_pool", "pool_project")


@dataclass
class DenseOutput:
    """features: [B, C, h, w] float32. If ``head`` is None the features are already in the joint
    space (C = D); otherwise ``head`` maps pooled features [..., C] to the joint space [..., D]."""

    features: torch.Tensor
    head: Callable[[torch.Tensor], torch.Tensor] | None = None


class DenseEncoder:
    """Base class: ``encoder(x) -> DenseOutput``; ``stride`` = input pixels per feature cell."""

    kind: str = ""
    stride: int = 1

    def __call__(self, x: torch.Tensor) -> DenseOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"dense": self.kind, "stride": self.stride}


def resize_pos_grid(pos: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], num_prefix: int) -> torch.Tensor:
    """Resize a [num_prefix + gh*gw, D] positional table to ``new_grid`` (bicubic, prefix rows kept)."""
    old_grid = (int(old_grid[0]), int(old_grid[1]))
    new_grid = (int(new_grid[0]), int(new_grid[1]))
    if old_grid == new_grid:
        return pos
    prefix, grid = pos[:num_prefix], pos[num_prefix:]
    if grid.shape[0] != old_grid[0] * old_grid[1]:
        raise ConfigError(f"positional embedding has {grid.shape[0]} grid rows, expected {old_grid[0]}x{old_grid[1]}")
    d = grid.shape[-1]
    g = grid.reshape(1, old_grid[0], old_grid[1], d).permute(0, 3, 1, 2).float()
    g = F.interpolate(g, size=new_grid, mode="bicubic", align_corners=False, antialias=True)
    g = g.permute(0, 2, 3, 1).reshape(new_grid[0] * new_grid[1], d).to(pos.dtype)
    return torch.cat([prefix, g], dim=0)


class _PosCache:
    """Resized positional tables per grid size (the table is a parameter; its id keys the cache)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, tuple[int, int]], torch.Tensor] = {}

    def get(self, pos: torch.Tensor, old_grid: tuple[int, int], new_grid: tuple[int, int], num_prefix: int) -> torch.Tensor:
        key = (id(pos), (int(new_grid[0]), int(new_grid[1])))
        hit = self._cache.get(key)
        if hit is None or hit.device != pos.device:
            hit = resize_pos_grid(pos.detach(), old_grid, new_grid, num_prefix)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = hit
        return hit


class ViTMaskCLIP(DenseEncoder):
    """MaskCLIP dense features of an open_clip ``VisionTransformer`` (see the module docstring)."""

    kind = "vit-maskclip"

    def __init__(self, visual: Any) -> None:
        self.visual: Any = visual
        ps = self.visual.patch_size
        if ps[0] != ps[1]:
            raise ConfigError(f"non-square patches {ps} are not supported")
        self.stride = int(ps[0])
        if getattr(visual, "attn_pool", None) is not None:
            raise ConfigError("open_clip ViTs with an attentional pooler (CoCa) are not supported by MaskCLIP")
        last = self.visual.transformer.resblocks[-1]
        if not isinstance(getattr(last, "attn", None), nn.MultiheadAttention) or not last.attn._qkv_same_embed_dim:
            raise ConfigError(f"MaskCLIP needs a standard residual attention block, got {type(last).__name__}")
        self._pos = _PosCache()

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Tokens entering the last block: [B, 1 + h*w, W], and the grid (h, w)."""
        v = self.visual
        t = v.conv1(x.to(v.conv1.weight.dtype))  # [B, W, h, w]
        grid = (int(t.shape[-2]), int(t.shape[-1]))
        t = t.flatten(2).transpose(1, 2)
        cls = v.class_embedding.to(t.dtype).view(1, 1, -1).expand(t.shape[0], -1, -1)
        t = torch.cat([cls, t], dim=1)
        t = t + self._pos.get(v.positional_embedding, v.grid_size, grid, 1).to(t.dtype)
        t = v.patch_dropout(t)
        t = v.ln_pre(t)
        tr = v.transformer
        if not tr.batch_first:
            t = t.transpose(0, 1)
        for blk in tr.resblocks[:-1]:
            t = blk(t)
        if not tr.batch_first:
            t = t.transpose(0, 1)
        return t, grid

    def value_path(self, t: torch.Tensor) -> torch.Tensor:
        """The last block with attention replaced by its value path, then ln_post and proj: [B, N, D]."""
        v = self.visual
        blk = v.transformer.resblocks[-1]
        attn = blk.attn
        d = attn.embed_dim
        y = blk.ln_1(t)
        b = attn.in_proj_bias[2 * d:] if attn.in_proj_bias is not None else None
        val = attn.out_proj(F.linear(y, attn.in_proj_weight[2 * d:], b))
        t = t + blk.ls_1(val)
        t = t + blk.ls_2(blk.mlp(blk.ln_2(t)))
        t = v.ln_post(t)
        if v.proj is not None:
            t = t @ v.proj
        return t

    def __call__(self, x: torch.Tensor) -> DenseOutput:
        t, (h, w) = self.tokens(x)
        out = self.value_path(t)[:, 1:]  # drop the class token
        feats = out.transpose(1, 2).reshape(out.shape[0], -1, h, w)
        return DenseOutput(feats.float())


class TimmViTMAP(DenseEncoder):
    """Value path through the MAP head of a timm ViT (SigLIP / SigLIP 2); see the module docstring."""

    kind = "timm-vit-map"

    def __init__(self, visual: Any) -> None:
        self.visual: Any = visual
        trunk: Any = visual.trunk
        self.trunk = trunk
        ap = getattr(trunk, "attn_pool", None)
        if ap is None or not hasattr(ap, "kv"):
            raise ConfigError("timm ViT without a MAP attention-pool head: not supported")
        if getattr(ap, "pos_embed", None) is not None:
            raise ConfigError("MAP heads with their own positional embedding are not supported")
        for attr in ("rope", "pos_embed_rope"):
            if getattr(trunk, attr, None) is not None:
                raise ConfigError(f"timm ViTs with {attr} are not supported")
        ps = trunk.patch_embed.patch_size
        if ps[0] != ps[1]:
            raise ConfigError(f"non-square patches {ps} are not supported")
        self.stride = int(ps[0])
        self._pos = _PosCache()

    def tokens(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Trunk output (blocks + final norm) of the patch tokens: [B, h*w, E], and (h, w)."""
        tr = self.trunk
        pe = tr.patch_embed
        t = pe.proj(x.to(pe.proj.weight.dtype))  # [B, E, h, w]
        grid = (int(t.shape[-2]), int(t.shape[-1]))
        t = t.permute(0, 2, 3, 1)
        t = pe.norm(t)
        b, e = t.shape[0], t.shape[-1]
        t = t.reshape(b, grid[0] * grid[1], e)
        prefix = []
        if getattr(tr, "cls_token", None) is not None:
            prefix.append(tr.cls_token.expand(b, -1, -1).to(t.dtype))
        if getattr(tr, "reg_token", None) is not None:
            prefix.append(tr.reg_token.expand(b, -1, -1).to(t.dtype))
        if tr.pos_embed is not None:
            n_pre_pos = 0 if tr.no_embed_class else tr.num_prefix_tokens
            pos = self._pos.get(tr.pos_embed[0], pe.grid_size, grid, n_pre_pos).to(t.dtype)
            if tr.no_embed_class:
                t = torch.cat(prefix + [t + pos[None]], dim=1)
            else:
                t = torch.cat(prefix + [t], dim=1) + pos[None]
        else:
            t = torch.cat(prefix + [t], dim=1)
        t = tr.pos_drop(t)
        t = tr.patch_drop(t)
        t = tr.norm_pre(t)
        t = tr.blocks(t)
        t = tr.norm(t)
        return t[:, tr.num_prefix_tokens:], grid

    def value_path(self, t: torch.Tensor) -> torch.Tensor:
        """MAP head value path + MLP, then fc_norm, head and open_clip's head: [B, N, D]."""
        tr = self.trunk
        ap = tr.attn_pool
        e = ap.kv.out_features // 2
        b = ap.kv.bias[e:] if ap.kv.bias is not None else None
        v = F.linear(t, ap.kv.weight[e:], b)
        v = ap.proj_drop(ap.proj(v))
        if ap.mlp is not None:
            v = v + ap.mlp(ap.norm(v))
        v = tr.fc_norm(v)
        v = tr.head_drop(v)
        v = tr.head(v)
        return self.visual.head(v)

    def __call__(self, x: torch.Tensor) -> DenseOutput:
        t, (h, w) = self.tokens(x)
        out = self.value_path(t)
        return DenseOutput(out.transpose(1, 2).reshape(out.shape[0], -1, h, w).float())


class ConvNeXtDense(DenseEncoder):
    """ConvNeXt without global pooling; the head per location or after pooling (``order``)."""

    kind = "convnext"

    def __init__(self, visual: Any, order: str = "project_pool") -> None:
        if order not in CONVNEXT_ORDERS:
            raise ConfigError(f"unknown ConvNeXt head order {order!r}; choose one of {', '.join(CONVNEXT_ORDERS)}")
        self.visual: Any = visual
        self.trunk: Any = visual.trunk
        self.order = order
        head = self.trunk.head
        pool = getattr(getattr(head, "global_pool", None), "pool_type", "avg")
        if pool not in ("avg", "fast_avg"):
            raise ConfigError(f"ConvNeXt trunk head with global pool {pool!r}: only average pooling is supported")
        if not isinstance(head.norm, (nn.LayerNorm, nn.Identity)):
            raise ConfigError(f"ConvNeXt head norm {type(head.norm).__name__} is not supported")
        if getattr(head, "use_conv", False):
            raise ConfigError("ConvNeXt heads with 1x1-conv layers are not supported")
        info = getattr(self.trunk, "feature_info", None)
        self.stride = int(info[-1]["reduction"]) if info else 32

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "head_order": self.order}

    def head(self, t: torch.Tensor) -> torch.Tensor:
        """trunk.head.norm, pre_logits, fc and open_clip's head on channels-last features [..., C] -> [..., D]."""
        head = self.trunk.head
        if isinstance(head.norm, nn.LayerNorm):
            t = F.layer_norm(t, head.norm.normalized_shape, head.norm.weight, head.norm.bias, head.norm.eps)
        t = head.pre_logits(t)
        t = head.drop(t)
        t = head.fc(t)
        return self.visual.head(t)

    def __call__(self, x: torch.Tensor) -> DenseOutput:
        f = self.trunk.forward_features(x.to(next(self.trunk.parameters()).dtype))  # [B, C, h, w]
        if self.order == "pool_project":
            return DenseOutput(f.float(), head=lambda p: self.head(p.to(f.dtype)).float())
        out = self.head(f.permute(0, 2, 3, 1))
        return DenseOutput(out.permute(0, 3, 1, 2).float())


def make_dense_encoder(model: nn.Module, *, convnext_order: str = "project_pool") -> DenseEncoder:
    """The dense encoder for an open_clip model (``model.visual``), or ConfigError if unsupported."""
    visual: Any = getattr(model, "visual", model)
    trunk = getattr(visual, "trunk", None)
    if trunk is None:
        if hasattr(visual, "transformer") and hasattr(visual, "conv1"):
            return ViTMaskCLIP(visual)
        raise ConfigError(f"no dense-feature recipe for vision tower {type(visual).__name__}")
    tname = type(trunk).__name__
    if tname == "ConvNeXt":
        return ConvNeXtDense(visual, convnext_order)
    if tname == "VisionTransformer" and getattr(trunk, "attn_pool", None) is not None:
        return TimmViTMAP(visual)
    raise ConfigError(f"no dense-feature recipe for timm trunk {tname} (supported: ConvNeXt, ViT with a MAP head)")
