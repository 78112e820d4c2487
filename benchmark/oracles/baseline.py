"""The model's own panoptic prediction (no oracle)."""

from __future__ import annotations

from ..inference.mask2former import PanopticResult
from .context import ImageContext


def baseline(ctx: ImageContext) -> PanopticResult:
    """Mask2Former panoptic inference with the model's thresholds (paper: Tables 2-3, row 1)."""
    return ctx.baseline
