"""Seeded synthetic datasets for every catalog entry, each in its real on-disk layout.

``generate_named(name, out_dir, ...)`` writes dataset ``name`` (see :mod:`ovbench.data.catalog`)
under ``out_dir``:

* ``ade20k_panoptic_val`` / ``coco_panoptic_val``: :func:`ovbench.data.synthetic.generate_dataset`.
* ``cityscapes_panoptic_val``: ``cityscapes/gtFine/cityscapes_panoptic_val.json`` + PNGs named
  ``<city>_<seq>_<frame>_gtFine_panoptic.png``, RGB PNGs under ``leftImg8bit/val/<city>/`` named
  ``..._leftImg8bit.png``; segment ids as cityscapesScripts' ``createPanopticImgs.py`` writes
  them: stuff = label id, thing instance = label id * 1000 + k, crowd thing region = label id.
* ``mapillary_vistas_panoptic_val``: ``mapillary_vistas/validation/panoptic/panoptic_2018.json``
  + ``<key>.png`` beside it, ``validation/images/<key>.jpg`` (22-character image keys).
* semantic datasets: one label per image in the dataset's format (8-bit PNG with 255 = ignore,
  or uint16 TIFF with 65535 = ignore), named as the prepare scripts name them
  (``ADE_val_00000001.tif``, ``2008_000001.png``), with JPEGs beside them. Pascal VOC labels get
  the 255 ignore band along object borders that VOC has; VOC-20 maps background to 255, VOC-21
  keeps it as class 0.

Scenes reuse the random-mode machinery of :mod:`ovbench.data.synthetic` (a warped Voronoi stuff
layer, thing instances painted over it, VOID / ignore blobs, class-textured images) with the
target's own classes. Deterministic in ``seed``: image i draws from ``default_rng([seed, i])``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .categories import Category, CategorySet
from .panoptic_format import id2rgb
from .synthetic import (
    MAX_ID,
    SyntheticConfig,
    _atomic_json,
    _bbox,
    _random_scene,
    _render,
    _run_chunks,
    _split,
    _stuff_segment_id,
    class_color,
)

CITYSCAPES_VAL_CITIES = ("frankfurt", "lindau", "munster")
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#: pseudo category id of VOC-20's background while painting (written as the ignore label)
_BACKGROUND = -1


def generate_named(
    name: str,
    out_dir: str | os.PathLike[str],
    n_images: int = 16,
    seed: int = 0,
    *,
    height: int = 512,
    width: int = 683,
    min_segments: int = 10,
    max_segments: int = 40,
    void_fraction: float = 0.02,
    crowd_fraction: float | None = None,
    write_images: bool = True,
    workers: int | None = None,
    **panoptic_kwargs: Any,
) -> Path:
    """Write synthetic dataset ``name`` under ``out_dir``; returns the annotation JSON (panoptic)
    or the label folder (semantic). Sizes in pixels."""
    from .catalog import DATASETS
    from .synthetic import generate_dataset

    layout = DATASETS.get(name)
    if name in ("ade20k_panoptic_val", "coco_panoptic_val"):
        return generate_dataset(out_dir, n_images, seed, layout="ade20k" if name.startswith("ade") else "coco",
                                height=height, width=width, min_segments=min_segments, max_segments=max_segments,
                                crowd_fraction=crowd_fraction, void_fraction=void_fraction, write_images=write_images,
                                workers=workers, **panoptic_kwargs)
    if panoptic_kwargs.get("scenes"):
        raise ConfigError("scene mode uses ADE20K-150 classes: only --dataset ade20k_panoptic_val")
    cfg = SyntheticConfig("ade20k", n_images, seed, height, width, min_segments, max_segments, False,
                          crowd_fraction if crowd_fraction is not None else 0.0, void_fraction, "png", write_images)
    _check(cfg)
    if layout.task == "semantic":
        return _generate_semantic(name, Path(out_dir), cfg, workers)
    return _generate_panoptic(name, Path(out_dir), cfg, workers)


def _check(cfg: SyntheticConfig) -> None:
    if cfg.n_images < 0:
        raise ConfigError(f"--images must be >= 0, got {cfg.n_images}")
    if cfg.height < 16 or cfg.width < 16:
        raise ConfigError(f"image size must be at least 16x16, got {cfg.width}x{cfg.height}")
    if not 1 <= cfg.min_segments <= cfg.max_segments <= 1000:
        raise ConfigError(f"need 1 <= min_segments <= max_segments <= 1000, got {cfg.min_segments}, {cfg.max_segments}")
    if not 0.0 <= (cfg.crowd_fraction or 0.0) <= 1.0 or not 0.0 <= cfg.void_fraction < 0.5:
        raise ConfigError("crowd_fraction must be in [0, 1] and void_fraction in [0, 0.5)")


# ---- names in the style of each dataset --------------------------------------------------------
def image_key(seed: int, index: int) -> str:
    """A 22-character Mapillary-style image key, fixed by (seed, index)."""
    h = hashlib.sha256(f"ovbench-mapillary-{seed}-{index}".encode()).digest()
    return "".join(_KEY_ALPHABET[b % 64] for b in h[:22])


def cityscapes_image_id(index: int) -> str:
    """``<city>_<sequence>_<frame>`` as in Cityscapes val (frames 19 apart, as the real ones)."""
    city = CITYSCAPES_VAL_CITIES[index % len(CITYSCAPES_VAL_CITIES)]
    return f"{city}_{index // len(CITYSCAPES_VAL_CITIES):06d}_{19 * (index + 1):06d}"


def semantic_stem(name: str, index: int) -> str:
    if name.startswith("ade20k"):
        return f"ADE_val_{index + 1:08d}"
    year = 2007 if "voc" in name else 2008
    return f"{year}_{index + 1:06d}"


# ---- panoptic: Cityscapes and Mapillary Vistas ---------------------------------------------------
def _generate_panoptic(name: str, out: Path, cfg: SyntheticConfig, workers: int | None) -> Path:
    from ..taxonomy.classes import load_class_list
    from .catalog import dataset_paths, get_layout

    layout = get_layout(name)
    json_path, png_dir, image_dir = dataset_paths(name, out)
    png_dir.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    if cfg.write_images:
        image_dir.mkdir(parents=True, exist_ok=True)
    cats = load_class_list(layout.class_list)
    tasks = [(name, cfg, str(png_dir), str(image_dir), chunk) for chunk in _split(cfg.n_images, 16)]
    images, annotations = [], []
    for chunk in _run_chunks(_panoptic_chunk, tasks, workers):
        for img, ann in chunk:
            images.append(img)
            annotations.append(ann)
    categories = [{"id": c.id, "name": c.name, "isthing": int(c.isthing), "color": list(class_color(c.id)),
                   "supercategory": "thing" if c.isthing else "stuff"} for c in cats]
    data = {"info": {"description": f"ovbench synthetic {name}", "generator": asdict(cfg)},
            "images": images, "annotations": annotations, "categories": categories}
    _atomic_json(json_path, data)
    return json_path


def _panoptic_chunk(args: tuple[str, SyntheticConfig, str, str, list[int]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    name, cfg, png_dir, image_dir, indices = args
    from PIL import Image

    from ..taxonomy.classes import load_class_list
    from .catalog import get_layout

    cats = load_class_list(get_layout(name).class_list)
    isthing = {c.id: c.isthing for c in cats}
    city = name.startswith("cityscapes")
    out = []
    for index in indices:
        rng = np.random.default_rng([cfg.seed, index])
        cv = _random_scene(rng, cfg, cats)
        n = len(cv.cats)
        counts = np.bincount(cv.seg.reshape(-1), minlength=n + 1)
        from scipy.ndimage import find_objects

        boxes = find_objects(cv.seg, max_label=n)
        seg_ids = np.zeros(n + 1, dtype=np.uint32)
        used: set[int] = set()
        next_inst: dict[int, int] = {}
        infos: list[dict[str, Any]] = []
        for i in range(1, n + 1):
            c = cv.cats[i - 1]
            if counts[i] == 0:
                continue
            crowd = bool(cv.crowd[i - 1] and isthing[c])
            if city:
                if isthing[c] and not crowd:
                    next_inst[c] = next_inst.get(c, 0) + 1
                    sid = c * 1000 + next_inst[c]
                else:
                    sid = c
                if sid in used:  # a second crowd region of one class joins the first
                    seg_ids[i] = sid
                    for s in infos:
                        if s["id"] == sid:
                            s["area"] += int(counts[i])
                    continue
            elif not isthing[c]:
                sid = _stuff_segment_id(c)
                while sid in used:
                    sid = (sid * 7 + 1) % MAX_ID or 1
            else:
                sid = int(rng.integers(1, MAX_ID + 1))
                while sid in used:
                    sid = int(rng.integers(1, MAX_ID + 1))
            used.add(sid)
            seg_ids[i] = sid
            infos.append({"id": int(sid), "category_id": int(c), "iscrowd": int(crowd), "area": int(counts[i]),
                          "bbox": _bbox(boxes[i - 1])})
        ids = seg_ids[cv.seg]
        if city:
            image_id = cityscapes_image_id(index)
            png_name = f"{image_id}_gtFine_panoptic.png"
            file_name = f"{image_id}_leftImg8bit.png"
            rel = Path(image_id.split("_", 1)[0]) / file_name
        else:
            image_id = image_key(cfg.seed, index)
            png_name, file_name = f"{image_id}.png", f"{image_id}.jpg"
            rel = Path(file_name)
        Image.fromarray(id2rgb(ids)).save(Path(png_dir) / png_name, compress_level=6)
        if cfg.write_images:
            img = _render(rng, cv.seg, cv.cats)
            dst = Path(image_dir) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if city:
                Image.fromarray(img).save(dst, compress_level=1)
            else:
                Image.fromarray(img).save(dst, quality=cfg.jpeg_quality)
        out.append(({"id": image_id, "file_name": file_name, "height": cfg.height, "width": cfg.width},
                    {"image_id": image_id, "file_name": png_name, "segments_info": infos}))
    return out


# ---- semantic ----------------------------------------------------------------------------------
def _paint_set(name: str, cats: CategorySet) -> CategorySet:
    """The classes the scene painter uses: the class list with its thing flags; Pascal VOC-20
    gets a pseudo stuff class for the background it ignores (so VOC-20 and VOC-21 paint the same
    scenes and share their JPEGs, as the real sets do). Both Pascal Context sets paint from one
    Context-459 pool (the 59 frequent classes and every 8th other class), so they share JPEGs too."""
    if name.startswith("pascal_ctx"):
        from ..taxonomy.classes import load_class_list

        full = load_class_list("pascal_ctx_459")
        frequent = {c.name for c in load_class_list("pascal_ctx_59")}
        return CategorySet(tuple(c for i, c in enumerate(full) if c.name in frequent or i % 8 == 0))
    out = list(cats)
    if name.startswith("pascal_voc_20"):
        out = [Category(_BACKGROUND, "background", False)] + out
    if not any(not c.isthing for c in out):  # the painter needs at least one stuff class
        out = [Category(c.id, c.name, False, c.synonyms) for c in out]
    return CategorySet(tuple(out))


def _generate_semantic(name: str, out: Path, cfg: SyntheticConfig, workers: int | None) -> Path:
    from .catalog import dataset_paths

    _, label_dir, image_dir = dataset_paths(name, out)
    label_dir.mkdir(parents=True, exist_ok=True)
    if cfg.write_images:
        image_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(name, cfg, str(label_dir), str(image_dir), chunk) for chunk in _split(cfg.n_images, 16)]
    _run_chunks(_semantic_chunk, tasks, workers)
    return label_dir


def _border_band(seg: np.ndarray, things: np.ndarray) -> np.ndarray:
    """[H, W] bool: pixels within one pixel of a boundary that touches a thing segment."""
    band = np.zeros(seg.shape, dtype=bool)
    for a, b in (((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
                 ((slice(1, None), slice(None)), (slice(None, -1), slice(None)))):
        diff = (seg[a] != seg[b]) & (things[a] | things[b])
        band[a] |= diff
        band[b] |= diff
    return band


def _semantic_chunk(args: tuple[str, SyntheticConfig, str, str, list[int]]) -> int:
    name, cfg, label_dir, image_dir, indices = args
    from PIL import Image

    from ..taxonomy.classes import load_class_list
    from .catalog import get_layout
    from .semantic_labels import write_label

    layout = get_layout(name)
    cats = load_class_list(layout.class_list)
    assert layout.ignore_label is not None
    ignore = layout.ignore_label
    if name == "ade20k_sem_seg_val":
        return _ade150_semantic(cfg, cats, label_dir, image_dir, indices, ignore)
    paint = _paint_set(name, cats)
    dense = {c.id: i for i, c in enumerate(cats)}
    if name.startswith("pascal_ctx"):  # paint ids are Context-459 ids; label by name
        by_name = {c.name: i for i, c in enumerate(cats)}
        dense = {c.id: by_name[c.name] for c in paint if c.name in by_name}
    for index in indices:
        rng = np.random.default_rng([cfg.seed, index])
        cv = _random_scene(rng, cfg, paint)
        value = np.full(len(cv.cats) + 1, ignore, dtype=np.int64)  # index 0 = VOID -> ignore
        thing = np.zeros(len(cv.cats) + 1, dtype=bool)
        for i, c in enumerate(cv.cats, start=1):
            value[i] = dense[c] if c in dense else ignore
            thing[i] = c in dense and cats.categories[dense[c]].isthing
        labels = value[cv.seg]
        if "voc" in name:
            labels[_border_band(cv.seg, thing[cv.seg])] = ignore
        stem = semantic_stem(name, index)
        write_label(Path(label_dir) / f"{stem}{layout.label_ext}", labels)
        if cfg.write_images:
            img = _render(rng, cv.seg, [max(c, 0) for c in cv.cats])
            Image.fromarray(img).save(Path(image_dir) / f"{stem}{layout.image_ext}", quality=cfg.jpeg_quality)
    return len(indices)


def _ade150_semantic(cfg: SyntheticConfig, cats: CategorySet, label_dir: str, image_dir: str, indices: list[int], ignore: int) -> int:
    """ADE20K-150 semantic labels from the panoptic generator's scenes (same seed, same sizes ->
    the same ``ADE_val_*.jpg`` as ``ade20k_panoptic_val``, which shares the image folder): each
    pixel's category index, VOID -> ignore, as prepare_ade20k_sem_seg.py's labels relate to the
    panoptic ones."""
    from PIL import Image

    from .semantic_labels import write_label
    from .synthetic import _make_image

    pan_cfg = SyntheticConfig("ade20k", cfg.n_images, cfg.seed, cfg.height, cfg.width, cfg.min_segments, cfg.max_segments,
                              False, 0.0, cfg.void_fraction, None, cfg.write_images).resolved()
    dense = {c.id: i for i, c in enumerate(cats)}
    for index in indices:
        ids, infos, image, _ = _make_image(pan_cfg, cats, index)
        seg_ids = np.array([0] + [s["id"] for s in infos], dtype=np.int64)
        values = np.array([ignore] + [dense[s["category_id"]] for s in infos], dtype=np.int64)
        order = np.argsort(seg_ids)
        pos = np.searchsorted(seg_ids[order], ids)
        labels = values[order][pos]
        stem = semantic_stem("ade20k", index)
        write_label(Path(label_dir) / f"{stem}.png", labels)
        if cfg.write_images:
            Image.fromarray(image).save(Path(image_dir) / f"{stem}.jpg", quality=pan_cfg.jpeg_quality)
    return len(indices)
