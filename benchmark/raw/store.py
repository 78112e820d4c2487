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

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..atomic import write_bytes_atomic
from ..errors import BadRawOutput
from .record import OPTIONAL_ARRAYS, MaskGeometry, RawOutput

FORMAT = "ovbench-raw/1"
REQUIRED_ARRAYS = ("mask_logits", "class_probs", "category_ids", "geometry", "image_id")
#: numpy dtype kinds accepted per array: floats where floats belong (an int or string array is an error)
_KINDS = {"mask_logits": "f", "class_probs": "f", "category_ids": "iu", "geometry": "iu", "image_id": "U"}
_KIND_NAMES = {"f": "a float array", "iu": "an integer array", "U": "a string"}


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
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return write_bytes_atomic(dump_path(folder, raw.image_id), buf.getvalue())


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
    missing = [k for k in REQUIRED_ARRAYS if k not in data]
    if missing:
        raise BadRawOutput(f"dump {path}: missing arrays {missing} (every dump file records its image id and geometry)")
    for k, arr in data.items():
        kinds = _KINDS.get(k, "f" if k in OPTIONAL_ARRAYS else None)
        if kinds is not None and arr.dtype.kind not in kinds:
            raise BadRawOutput(f"dump {path}: array {k!r} has dtype {arr.dtype}, expected {_KIND_NAMES[kinds]}")
    geo = data["geometry"]
    if geo.shape != (3, 2):
        raise BadRawOutput(f"dump {path}: geometry must be [3, 2], got {geo.shape}")
    if data["image_id"].shape != ():
        raise BadRawOutput(f"dump {path}: image_id must be a single string, got shape {data['image_id'].shape}")
    stored_id = str(data["image_id"])
    if stored_id != image_id:
        raise BadRawOutput(f"dump {path}: holds image {stored_id!r}, expected {image_id!r}")
    return RawOutput(
        image_id=image_id,
        mask_logits=data["mask_logits"].astype(np.float32),
        class_probs=data["class_probs"].astype(np.float32),
        category_ids=data["category_ids"].astype(np.int64),
        geometry=MaskGeometry(tuple(int(v) for v in geo[0]), tuple(int(v) for v in geo[1]), tuple(int(v) for v in geo[2])),  # type: ignore[arg-type]
        **{k: data[k].astype(np.float32) for k in OPTIONAL_ARRAYS if k in data},
    )


def write_manifest(folder: Path, adapter_info: dict[str, Any], dtype: str, category_ids: list[int]) -> Path:
    from ..results.io import write_json_atomic

    return write_json_atomic(folder / "manifest.json", {"format": FORMAT, "adapter": adapter_info, "dtype": dtype, "category_ids": category_ids})


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and check ``manifest.json``: a JSON object of the dump format; errors name the file."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise BadRawOutput(f"{folder} is not a raw-output dump: {path} is missing (write dumps with `ovbench dump`)")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRawOutput(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise BadRawOutput(f"{path}: JSON nested too deeply") from None
    if not isinstance(m, dict):
        raise BadRawOutput(f"{path}: the manifest must be a JSON object, got {type(m).__name__}")
    if m.get("format") != FORMAT:
        raise BadRawOutput(f"{path}: unknown dump format {m.get('format')!r} (expected {FORMAT!r})")
    adapter = m.get("adapter", {})
    if not isinstance(adapter, dict):
        raise BadRawOutput(f"{path}: 'adapter' must be an object, got {type(adapter).__name__}")
    inf = adapter.get("inference") or {}
    if not isinstance(inf, dict):
        raise BadRawOutput(f"{path}: adapter.inference must be an object, got {type(inf).__name__}")
    from ..inference.mask2former import InferenceConfig

    known = set(InferenceConfig.__dataclass_fields__)
    for k, v in inf.items():
        if k not in known:
            raise BadRawOutput(f"{path}: adapter.inference has unknown key {k!r} (known: {', '.join(sorted(known))})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise BadRawOutput(f"{path}: adapter.inference.{k} must be a finite number, got {v!r}")
    for k in ("paper", "code"):
        v = adapter.get(k)
        if v not in (None, "") and not is_safe_url(v):
            raise BadRawOutput(f"{path}: adapter.{k} must be an http(s) URL, got {str(v)[:80]!r}")
    ids = m.get("category_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRawOutput(f"{path}: category_ids must be a list of integers")
    return m


def is_safe_url(url: Any) -> bool:
    """Only absolute http(s) URLs without spaces, quotes or angle brackets (never javascript:, data:)."""
    import re

    return isinstance(url, str) and re.match(r"^https?://[^\s<>\"']+$", url) is not None
