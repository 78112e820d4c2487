"""Raw-output dump files: models run anywhere, ovbench replays their outputs later.

Layout of a dump folder::

    manifest.json            {"format": "ovbench-raw/1", "adapter": {...AdapterInfo...},
                              "dtype": "float16" | "float32", "category_ids": [...]}
    <image id, URL-quoted>.npz   one file per image (numpy ``savez``), arrays:
        mask_logits   [N, hm, wm]  float16/float32   pre-sigmoid mask logits
        class_probs   [N, C+1]     float32           posteriors, no-object last
        category_ids  [C]          int64             dataset id of each class column
        geometry      [3, 2]       int64             orig_size, input_size, padded_size (rows)
        image_id      []           str
        optional: mask_embeddings [N, D], dense_features [D, h, w],
                  in_vocab_logits [N, C+1], out_vocab_logits [N, C]

float16 dumps halve the size (an ADE20K image at 250 x 200 x 272 is 27 MB) and change mask
logits by at most ~1e-3 relative; the manifest records the dtype, and so do results files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..errors import BadRawOutput
from .record import OPTIONAL_ARRAYS, MaskGeometry, RawOutput

FORMAT = "ovbench-raw/1"


def dump_path(folder: Path, image_id: str) -> Path:
    return folder / (quote(image_id, safe="") + ".npz")


def write_raw(folder: Path, raw: RawOutput, dtype: str = "float16") -> Path:
    """Write one record atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    g = raw.geometry
    arrays: dict[str, Any] = {
        "mask_logits": raw.mask_logits.astype(dtype),
        "class_probs": raw.class_probs.astype(np.float32),
        "category_ids": raw.category_ids.astype(np.int64),
        "geometry": np.array([g.orig_size, g.input_size, g.padded_size], dtype=np.int64),
        "image_id": np.array(raw.image_id),
    }
    for name in OPTIONAL_ARRAYS:
        arr = getattr(raw, name)
        if arr is not None:
            arrays[name] = arr.astype(np.float32)
    path = dump_path(folder, raw.image_id)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def read_raw(folder: Path, image_id: str) -> RawOutput:
    """Read one record; a missing or malformed file is a :class:`BadRawOutput` naming it."""
    path = dump_path(folder, image_id)
    if not path.is_file():
        raise BadRawOutput(f"dump {folder}: no raw output for image {image_id!r} (expected {path})")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:
        raise BadRawOutput(f"dump {path}: unreadable ({exc})") from exc
    missing = [k for k in ("mask_logits", "class_probs", "category_ids", "geometry") if k not in data]
    if missing:
        raise BadRawOutput(f"dump {path}: missing arrays {missing}")
    geo = data["geometry"]
    if geo.shape != (3, 2):
        raise BadRawOutput(f"dump {path}: geometry must be [3, 2], got {geo.shape}")
    stored_id = str(data.get("image_id", image_id))
    if stored_id != image_id:
        raise BadRawOutput(f"dump {path}: holds image {stored_id!r}, expected {image_id!r}")
    return RawOutput(
        image_id=image_id,
        mask_logits=data["mask_logits"].astype(np.float32),
        class_probs=data["class_probs"].astype(np.float32),
        category_ids=data["category_ids"].astype(np.int64),
        geometry=MaskGeometry(tuple(int(v) for v in geo[0]), tuple(int(v) for v in geo[1]), tuple(int(v) for v in geo[2])),  # type: ignore[arg-type]
        **{k: data[k] for k in OPTIONAL_ARRAYS if k in data},
    )


def write_manifest(folder: Path, adapter_info: dict[str, Any], dtype: str, category_ids: list[int]) -> Path:
    from ..results.io import write_json_atomic

    return write_json_atomic(folder / "manifest.json", {"format": FORMAT, "adapter": adapter_info, "dtype": dtype, "category_ids": category_ids})


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise BadRawOutput(f"{folder} is not a raw-output dump: {path} is missing (write dumps with `ovbench dump`)")
    with open(path) as f:
        m = json.load(f)
    if m.get("format") != FORMAT:
        raise BadRawOutput(f"{path}: unknown dump format {m.get('format')!r} (expected {FORMAT!r})")
    return m
