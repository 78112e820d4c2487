"""Fig. 5-style pictures: the image with GT and predicted panoptic maps overlaid."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..data.panoptic_format import PanopticMap


def category_color(category_id: int) -> tuple[int, int, int]:
    """A stable, saturated colour per category id."""
    h = hashlib.md5(str(category_id).encode()).digest()
    c = np.array([h[0], h[1], h[2]], dtype=np.float64)
    c = 60 + (c / 255.0) * 195
    return int(c[0]), int(c[1]), int(c[2])


def colorize(pm: PanopticMap, image: np.ndarray | None = None, alpha: float = 0.55) -> np.ndarray:
    """[H, W, 3] uint8: segments coloured by category, segment borders white, VOID black (or the image)."""
    H, W = pm.shape
    out = np.zeros((H, W, 3), dtype=np.float64)
    if image is not None:
        out[:] = image.astype(np.float64)
    lut_ids = np.array([s.id for s in pm.segments], dtype=np.int64)
    colors = np.array([category_color(s.category_id) for s in pm.segments], dtype=np.float64).reshape(-1, 3)
    if len(lut_ids):
        order = np.argsort(lut_ids)
        pos = np.searchsorted(lut_ids[order], pm.ids)
        pos = np.clip(pos, 0, len(lut_ids) - 1)
        hit = lut_ids[order][pos] == pm.ids
        col = colors[order][pos]
        if image is not None:
            out[hit] = (1 - alpha) * out[hit] + alpha * col[hit]
        else:
            out[hit] = col[hit]
    ids = pm.ids
    border = np.zeros((H, W), dtype=bool)
    border[:-1] |= ids[:-1] != ids[1:]
    border[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    out[border] = 255.0
    return out.clip(0, 255).astype(np.uint8)


def write_overlays(out_dir: Path, image_id: str, image: np.ndarray | None, gt: PanopticMap, predictions: dict[str, PanopticMap]) -> dict[str, str]:
    """Write ``overlays/<id>__<name>.png`` files; return {name: path relative to out_dir}."""
    import io
    from urllib.parse import quote

    from PIL import Image

    from ..atomic import write_bytes_atomic

    folder = out_dir / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    stem = quote(image_id, safe="")
    files: dict[str, str] = {}
    items: list[tuple[str, np.ndarray]] = [("image", image if image is not None else np.full(gt.shape + (3,), 128, np.uint8))]
    items.append(("gt", colorize(gt, image)))
    items += [(k, colorize(p, image)) for k, p in predictions.items()]
    for name, arr in items:
        rel = f"overlays/{stem}__{name}.png"
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        write_bytes_atomic(out_dir / rel, buf.getvalue())
        files[name] = rel
    return files
