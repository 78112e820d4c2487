"""Test-time input geometry of detectron2 models (pure functions, no detectron2 needed)."""

from __future__ import annotations

import math

from ..raw.record import MaskGeometry


def resize_shortest_edge(height: int, width: int, short: int = 800, max_size: int = 1333) -> tuple[int, int]:
    """detectron2 ``ResizeShortestEdge.get_output_shape``: shorter side to `short`, longer side at
    most `max_size`, each side rounded with ``int(x + 0.5)``. Returns (new_height, new_width)."""
    scale = short / min(height, width)
    if height < width:
        newh, neww = float(short), scale * width
    else:
        newh, neww = scale * height, float(short)
    if max(newh, neww) > max_size:
        s = max_size / max(newh, neww)
        newh, neww = newh * s, neww * s
    return int(newh + 0.5), int(neww + 0.5)


def pad_to(size: int, divisibility: int) -> int:
    """detectron2 ``ImageList.from_tensors`` padding of one side."""
    return size if divisibility <= 1 else int(math.ceil(size / divisibility) * divisibility)


def detectron2_geometry(height: int, width: int, short: int = 800, max_size: int = 1333, divisibility: int = 32) -> MaskGeometry:
    """Original size, resized input size and padded size of a detectron2 test-time input."""
    h, w = resize_shortest_edge(height, width, short, max_size)
    return MaskGeometry((height, width), (h, w), (pad_to(h, divisibility), pad_to(w, divisibility)))
