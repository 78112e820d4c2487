"""Write in-memory panoptic maps as a COCO-panoptic JSON + PNG folder (ground truth or prediction).

The format panopticapi, detectron2 and ``ovbench pq`` read: one 8-bit RGB PNG per image
(id = R + 256 G + 256^2 B, 0 = VOID) and a JSON with ``images`` (id, file_name, height, width),
``annotations`` (image_id, file_name, segments_info) and ``categories``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .categories import CategorySet
from .panoptic_format import PanopticMap
from .png_io import write_panoptic_png


def write_panoptic(
    json_path: str | os.PathLike[str],
    png_dir: str | os.PathLike[str],
    items: Iterable[tuple[Any, PanopticMap]],
    categories: CategorySet,
    *,
    png_names: Iterable[str] | None = None,
    compress_level: int = 1,
) -> Path:
    """Write (image_id, map) pairs; PNG names default to ``{image_id}.png``. Segment areas are
    written as the maps carry them (ground truth may keep JSON areas above pixel counts).
    The JSON is written last and atomically. Returns the JSON path."""
    json_path, png_dir = Path(json_path), Path(png_dir)
    png_dir.mkdir(parents=True, exist_ok=True)
    names = iter(png_names) if png_names is not None else None
    images, annotations = [], []
    for image_id, pm in items:
        name = next(names) if names is not None else f"{image_id}.png"
        write_panoptic_png(png_dir / name, pm.ids, compress_level)
        h, w = pm.shape
        images.append({"id": image_id, "file_name": name.rsplit(".", 1)[0] + ".jpg", "height": h, "width": w})
        annotations.append({"image_id": image_id, "file_name": name, "segments_info": [s.to_json() for s in pm.segments]})
    data = {"images": images, "annotations": annotations,
            "categories": [dict(c, color=[0, 0, 0]) for c in categories.to_coco()]}
    from ..atomic import write_text_atomic

    return write_text_atomic(json_path, json.dumps(data))
