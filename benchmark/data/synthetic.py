"""Seeded synthetic panoptic datasets in the real on-disk layouts (ADE20K / COCO panoptic).

:func:`generate_dataset` writes, under ``out_dir``, exactly the files a real dataset has in the
detectron2 layout (see :mod:`ovbench.data.catalog`): the COCO-panoptic JSON, one 8-bit RGB
panoptic PNG per image (id = R + 256 G + 256^2 B, 0 = VOID) and one RGB JPEG per image.
Categories are the shipped class lists (``ade20k_150`` / ``coco_panoptic_133``).

* Random mode: a stuff layer (a warped Voronoi partition into 2–8 stuff classes, one segment per
  class, as in ADE20K), thing instances of random classes and shapes painted over it (later ones
  occlude earlier ones), optional VOID blobs and crowd instances.
* Scene mode (``scenes=True``, ADE20K only): bedrooms, living rooms and streets built from the
  paper's conflict classes (pillow vs cushion, painting, lamp vs light, signboard, street lamp,
  pole, ...) for ``ovbench demo``; the scene name is stored in each ``images`` entry.

Images get class-dependent colours and textures (stripes, checkers, rings, noise), so a model can
in principle tell classes apart. Everything is deterministic in ``seed``: image i draws from
``numpy.random.default_rng([seed, i])``, so the output does not depend on the worker count.

ADE20K fidelity: by default (``stuff_area="before_things"`` for the ADE20K layout) the JSON area
of a stuff segment is counted before things and VOID are painted over it, as in
``prepare_ade20k_pan_seg.py``; JSON stuff areas then exceed PNG counts and a fully covered stuff
segment stays in the JSON without pixels. ``stuff_area="png"`` counts every area from the PNG.

:func:`generate_predictions` writes a COCO-panoptic *prediction* (JSON + PNG folder) for a ground
truth, with realistic errors: shifted, eroded and dilated segments, wrong classes, missed and
spurious segments.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DatasetError
from .categories import CategorySet
from .panoptic_format import id2rgb
from .png_io import read_panoptic_ids

MAX_ID = 256**3 - 1


# ---- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SyntheticConfig:
    """Generator settings (see :func:`generate_dataset`)."""

    layout: str = "ade20k"
    n_images: int = 16
    seed: int = 0
    height: int = 512
    width: int = 683
    min_segments: int = 10
    max_segments: int = 40
    scenes: bool = False
    crowd_fraction: float | None = None
    void_fraction: float = 0.02
    stuff_area: str | None = None
    write_images: bool = True
    jpeg_quality: int = 90

    def resolved(self) -> SyntheticConfig:
        from .catalog import LAYOUTS

        if self.layout not in LAYOUTS:
            raise ConfigError(f"unknown layout {self.layout!r}; choose one of {', '.join(LAYOUTS)}")
        if self.n_images < 0:
            raise ConfigError(f"--images must be >= 0, got {self.n_images}")
        if self.height < 16 or self.width < 16:
            raise ConfigError(f"image size must be at least 16x16, got {self.width}x{self.height}")
        if not 1 <= self.min_segments <= self.max_segments:
            raise ConfigError(f"need 1 <= min_segments <= max_segments, got {self.min_segments}, {self.max_segments}")
        if self.max_segments > 1000:
            raise ConfigError(f"max_segments must be <= 1000, got {self.max_segments}")
        if self.scenes and self.layout != "ade20k":
            raise ConfigError("scene mode uses ADE20K classes: use --layout ade20k")
        crowd = self.crowd_fraction if self.crowd_fraction is not None else (0.05 if self.layout == "coco" else 0.0)
        stuff_area = self.stuff_area or ("before_things" if self.layout == "ade20k" else "png")
        if stuff_area not in ("png", "before_things"):
            raise ConfigError(f"stuff_area must be 'png' or 'before_things', got {stuff_area!r}")
        if not 0.0 <= crowd <= 1.0 or not 0.0 <= self.void_fraction < 0.5:
            raise ConfigError("crowd_fraction must be in [0, 1] and void_fraction in [0, 0.5)")
        return SyntheticConfig(self.layout, self.n_images, self.seed, self.height, self.width, self.min_segments,
                               self.max_segments, self.scenes, crowd, self.void_fraction, stuff_area,
                               self.write_images, self.jpeg_quality)


# ---- class appearance (deterministic per class id) ---------------------------------------------
TEXTURES = ("flat", "hstripes", "vstripes", "dstripes", "checker", "rings", "noise", "dots")


def class_color(category_id: int) -> tuple[int, int, int]:
    """A fixed RGB colour per category id (also the ``color`` field of the JSON categories)."""
    h = zlib.crc32(f"ovbench-class-{category_id}".encode())
    return (h & 255, (h >> 8) & 255, (h >> 16) & 255)


def class_texture(category_id: int) -> tuple[str, float, float]:
    """(texture kind, period in pixels, amplitude) of a category, fixed per id."""
    h = zlib.crc32(f"ovbench-texture-{category_id}".encode())
    kind = TEXTURES[h % len(TEXTURES)]
    period = 4.0 + (h >> 8) % 13
    amp = 18.0 + (h >> 16) % 40
    return kind, period, amp


def _stuff_segment_id(category_id: int) -> int:
    """Stuff ids come from a per-class colour, as ADE20K's palette ids do (never 0)."""
    r, g, b = class_color(category_id)
    return (r + 256 * g + 65536 * b) or 1


# ---- shapes on bounding-box crops --------------------------------------------------------------
@dataclass
class _Canvas:
    """Segment-index maps under construction, [H, W] int32 (0 = VOID, i = segments[i-1]).

    seg: the final map. stuff_seg: the same paints restricted to stuff segments (things and VOID
    are not painted on it), i.e. the stuff layer before things cover it: ADE20K's JSON stuff areas.
    """

    height: int
    width: int
    thing_cats: frozenset[int]
    seg: np.ndarray = field(init=False)
    stuff_seg: np.ndarray = field(init=False)
    cats: list[int] = field(default_factory=list)
    crowd: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seg = np.zeros((self.height, self.width), dtype=np.int32)
        self.stuff_seg = np.zeros((self.height, self.width), dtype=np.int32)

    def new(self, category_id: int, iscrowd: bool = False) -> int:
        self.cats.append(int(category_id))
        self.crowd.append(bool(iscrowd))
        return len(self.cats)

    def paint(self, index: int, region: tuple[int, int, int, int, np.ndarray] | None) -> None:
        if region is None:
            return
        y0, y1, x0, x1, m = region
        self.seg[y0:y1, x0:x1][m] = index
        if index > 0 and self.cats[index - 1] not in self.thing_cats:
            self.stuff_seg[y0:y1, x0:x1][m] = index

    def superellipse(self, cy: float, cx: float, ry: float, rx: float, angle: float = 0.0,
                     power: float = 2.0) -> tuple[int, int, int, int, np.ndarray] | None:
        """Region of |u/rx|^p + |v/ry|^p <= 1 in coordinates rotated by `angle` (radians)."""
        R = max(ry, rx) + 1
        y0, y1 = max(0, int(cy - R)), min(self.height, int(cy + R) + 1)
        x0, x1 = max(0, int(cx - R)), min(self.width, int(cx + R) + 1)
        if y0 >= y1 or x0 >= x1:
            return None
        yy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
        xx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
        c, s = math.cos(angle), math.sin(angle)
        u = (xx * c + yy * s) / max(rx, 0.5)
        v = (-xx * s + yy * c) / max(ry, 0.5)
        m = np.abs(u) ** power + np.abs(v) ** power <= 1.0
        return y0, y1, x0, x1, m

    def rect(self, y0: float, y1: float, x0: float, x1: float) -> tuple[int, int, int, int, np.ndarray] | None:
        a, b = max(0, int(round(y0))), min(self.height, int(round(y1)))
        c, d = max(0, int(round(x0))), min(self.width, int(round(x1)))
        if a >= b or c >= d:
            return None
        return a, b, c, d, np.ones((b - a, d - c), dtype=bool)

    def rows_between(self, top: np.ndarray, bottom: np.ndarray) -> tuple[int, int, int, int, np.ndarray]:
        """Pixels with top[x] <= y < bottom[x] ([W] float arrays)."""
        yy = np.arange(self.height, dtype=np.float32)[:, None]
        m = (yy >= top[None, :]) & (yy < bottom[None, :])
        return 0, self.height, 0, self.width, m


def _wavy(rng: np.random.Generator, width: int, base: float, amp: float) -> np.ndarray:
    x = np.arange(width, dtype=np.float32)
    out = np.full(width, base, dtype=np.float32)
    for _ in range(2):
        out += amp * rng.uniform(0.3, 1.0) * np.sin(2 * math.pi * x / rng.uniform(80, 400) + rng.uniform(0, 2 * math.pi))
    return out


# ---- random-mode layout ------------------------------------------------------------------------
def _stuff_partition(rng: np.random.Generator, H: int, W: int, k: int) -> np.ndarray:
    """[H, W] int32 labels 0..k-1: a weighted, warped Voronoi partition (computed at 1/4 size)."""
    f = 4
    h, w = -(-H // f), -(-W // f)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    seeds = rng.uniform(0, 1, (k, 2)) * [h, w]
    weights = rng.uniform(0.5, 2.0, k)
    warp_y = 0.08 * h * np.sin(2 * math.pi * xx / rng.uniform(20, 80) + rng.uniform(0, 6.3))
    warp_x = 0.08 * w * np.sin(2 * math.pi * yy / rng.uniform(20, 80) + rng.uniform(0, 6.3))
    best = np.full((h, w), np.inf, dtype=np.float32)
    lab = np.zeros((h, w), dtype=np.int32)
    for i in range(k):
        d = ((yy + warp_y - seeds[i, 0]) ** 2 + (xx + warp_x - seeds[i, 1]) ** 2) * weights[i]
        better = d < best
        best[better] = d[better]
        lab[better] = i
    return np.repeat(np.repeat(lab, f, axis=0), f, axis=1)[:H, :W]


def _random_scene(rng: np.random.Generator, cfg: SyntheticConfig, cats: CategorySet) -> _Canvas:
    H, W = cfg.height, cfg.width
    cv = _Canvas(H, W, frozenset(c.id for c in cats if c.isthing))
    stuff_ids = [c.id for c in cats if not c.isthing]
    thing_ids = [c.id for c in cats if c.isthing]
    n_seg = int(rng.integers(cfg.min_segments, cfg.max_segments + 1))
    wanted = int(rng.integers(2, 9))
    n_stuff = min(len(stuff_ids), max(1, min(n_seg - 1 if thing_ids else n_seg, wanted)))
    n_things = n_seg - n_stuff if thing_ids else 0
    chosen = rng.choice(stuff_ids, size=n_stuff, replace=False)
    part = _stuff_partition(rng, H, W, n_stuff)
    for _i, c in enumerate(chosen):
        cv.new(int(c))
    cv.seg[:] = part + 1
    cv.stuff_seg[:] = part + 1
    for _ in range(n_things):
        c = int(rng.choice(thing_ids))
        idx = cv.new(c, bool(rng.random() < (cfg.crowd_fraction or 0.0)))
        frac = math.exp(rng.uniform(math.log(0.001), math.log(0.08)))
        aspect = math.exp(rng.uniform(-1.0, 1.0))
        area = frac * H * W
        ry, rx = math.sqrt(area / math.pi * aspect), math.sqrt(area / math.pi / aspect)
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        power = float(rng.choice([1.0, 2.0, 2.0, 6.0]))
        cv.paint(idx, cv.superellipse(cy, cx, ry, rx, rng.uniform(0, math.pi), power))
        if rng.random() < 0.3:  # blob: a second lobe
            cv.paint(idx, cv.superellipse(cy + rng.uniform(-ry, ry), cx + rng.uniform(-rx, rx), ry * 0.7, rx * 0.7,
                                          rng.uniform(0, math.pi), 2.0))
    _void_blobs(rng, cv, cfg.void_fraction)
    return cv


def _void_blobs(rng: np.random.Generator, cv: _Canvas, fraction: float) -> None:
    if fraction <= 0:
        return
    H, W = cv.height, cv.width
    n = int(rng.integers(0, 4))
    for _ in range(n):
        area = fraction / 2 * H * W * rng.uniform(0.5, 1.5)
        r = math.sqrt(area / math.pi)
        cv.paint(0, cv.superellipse(rng.uniform(0, H), rng.uniform(0, W), r * rng.uniform(0.6, 1.4), r, rng.uniform(0, 3), 2.0))


# ---- scene mode (ADE20K-150 ids; names checked in tests) ---------------------------------------
SCENE_CLASSES: dict[str, int] = {
    "wall": 0, "building": 1, "sky": 2, "floor": 3, "tree": 4, "ceiling": 5, "road": 6, "bed": 7, "window": 8,
    "sidewalk": 11, "person": 12, "table": 15, "curtain": 18, "car": 20, "painting": 22, "sofa": 23, "rug": 28,
    "armchair": 30, "lamp": 36, "cushion": 39, "signboard": 43, "pillow": 57, "light": 82, "street lamp": 87,
    "pole": 93, "traffic light": 136,
}
SCENES = ("bedroom", "living_room", "street")


def _indoor_shell(rng: np.random.Generator, cv: _Canvas) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    H, W = cv.height, cv.width
    S = SCENE_CLASSES
    ceil_line = _wavy(rng, W, rng.uniform(0.08, 0.2) * H, 0.01 * H) if rng.random() < 0.8 else np.zeros(W, np.float32)
    floor_line = _wavy(rng, W, rng.uniform(0.6, 0.75) * H, 0.015 * H)
    ids = {}
    if ceil_line.max() > 0:
        ids["ceiling"] = cv.new(S["ceiling"])
        cv.paint(ids["ceiling"], cv.rows_between(np.zeros(W, np.float32), ceil_line))
    ids["wall"] = cv.new(S["wall"])
    cv.paint(ids["wall"], cv.rows_between(ceil_line, floor_line))
    ids["floor"] = cv.new(S["floor"])
    cv.paint(ids["floor"], cv.rows_between(floor_line, np.full(W, H, np.float32)))
    return ids, ceil_line, floor_line


def _wall_items(rng: np.random.Generator, cv: _Canvas, top: float, bottom: float, with_window: bool) -> None:
    H, W = cv.height, cv.width
    S = SCENE_CLASSES
    if with_window and rng.random() < 0.8:
        wx0 = rng.uniform(0.05, 0.6) * W
        ww = rng.uniform(0.15, 0.3) * W
        wy0, wy1 = top + 0.05 * H, top + rng.uniform(0.3, 0.45) * H
        cv.paint(cv.new(S["window"]), cv.rect(wy0, wy1, wx0, wx0 + ww))
        if rng.random() < 0.8:
            for side in (-1, 1):
                cx = wx0 - 0.04 * W if side < 0 else wx0 + ww - 0.02 * W
                cv.paint(cv.new(S["curtain"]), cv.rect(wy0 - 0.02 * H, wy1 + 0.08 * H, cx, cx + rng.uniform(0.05, 0.08) * W))
    for _ in range(int(rng.integers(1, 4))):
        pw, ph = rng.uniform(0.07, 0.18) * W, rng.uniform(0.08, 0.18) * H
        px, py = rng.uniform(0, W - pw), rng.uniform(top + 0.02 * H, max(top + 0.03 * H, bottom - ph - 0.05 * H))
        cv.paint(cv.new(S["painting"]), cv.rect(py, py + ph, px, px + pw))


def _lights(rng: np.random.Generator, cv: _Canvas, ceil: float) -> None:
    H, W = cv.height, cv.width
    for _ in range(int(rng.integers(1, 4))):
        r = rng.uniform(0.015, 0.035) * W
        cv.paint(cv.new(SCENE_CLASSES["light"]), cv.superellipse(max(ceil, 0.03 * H) + rng.uniform(0, 0.04) * H,
                                                                  rng.uniform(0.05, 0.95) * W, r * 0.6, r))


def _scene_bedroom(rng: np.random.Generator, cv: _Canvas) -> None:
    H, W = cv.height, cv.width
    S = SCENE_CLASSES
    _, ceil_line, floor_line = _indoor_shell(rng, cv)
    top, fl = float(ceil_line.mean()), float(floor_line.mean())
    if rng.random() < 0.5:
        cv.paint(cv.new(S["rug"]), cv.superellipse(fl + 0.6 * (H - fl), rng.uniform(0.3, 0.7) * W, 0.25 * (H - fl), 0.3 * W))
    _wall_items(rng, cv, top, fl, with_window=True)
    bx0, bw = rng.uniform(0.1, 0.4) * W, rng.uniform(0.4, 0.55) * W
    by0, by1 = fl - rng.uniform(0.12, 0.2) * H, min(H, fl + rng.uniform(0.15, 0.25) * H)
    cv.paint(cv.new(S["bed"]), cv.rect(by0, by1, bx0, bx0 + bw))
    n_pillow = int(rng.integers(1, 4))
    for k in range(n_pillow):
        cls = S["pillow"] if rng.random() < 0.7 else S["cushion"]  # the pillow / cushion conflict
        pw = bw / (n_pillow + 1)
        cv.paint(cv.new(cls), cv.superellipse(by0 + 0.04 * H, bx0 + pw * (k + 0.8), 0.035 * H, pw * 0.45, 0.0, 4.0))
    if rng.random() < 0.5:
        cv.paint(cv.new(S["cushion"]), cv.superellipse(by0 + 0.1 * H, bx0 + bw * rng.uniform(0.3, 0.7), 0.03 * H, 0.05 * W, 0.3, 3.0))
    lx = bx0 + bw + rng.uniform(0.03, 0.1) * W if bx0 + bw < 0.85 * W else bx0 - 0.1 * W
    cv.paint(cv.new(S["table"]), cv.rect(fl - 0.1 * H, fl + 0.02 * H, lx - 0.04 * W, lx + 0.04 * W))
    lamp = cv.new(S["lamp"])
    cv.paint(lamp, cv.superellipse(fl - 0.16 * H, lx, 0.05 * H, 0.035 * W, 0.0, 1.5))
    cv.paint(lamp, cv.rect(fl - 0.12 * H, fl - 0.1 * H, lx - 0.005 * W, lx + 0.005 * W))
    _lights(rng, cv, top)


def _scene_living_room(rng: np.random.Generator, cv: _Canvas) -> None:
    H, W = cv.height, cv.width
    S = SCENE_CLASSES
    _, ceil_line, floor_line = _indoor_shell(rng, cv)
    top, fl = float(ceil_line.mean()), float(floor_line.mean())
    if rng.random() < 0.6:
        cv.paint(cv.new(S["rug"]), cv.superellipse(fl + 0.5 * (H - fl), rng.uniform(0.3, 0.7) * W, 0.3 * (H - fl), 0.35 * W))
    _wall_items(rng, cv, top, fl, with_window=rng.random() < 0.5)
    sx0, sw = rng.uniform(0.05, 0.35) * W, rng.uniform(0.35, 0.5) * W
    sy0, sy1 = fl - rng.uniform(0.15, 0.22) * H, fl + rng.uniform(0.05, 0.12) * H
    cv.paint(cv.new(S["sofa"]), cv.rect(sy0, sy1, sx0, sx0 + sw))
    n_c = int(rng.integers(2, 5))
    for k in range(n_c):
        cls = S["cushion"] if rng.random() < 0.75 else S["pillow"]
        cw = sw / (n_c + 1)
        cv.paint(cv.new(cls), cv.superellipse(sy0 + 0.05 * H, sx0 + cw * (k + 0.9), 0.045 * H, cw * 0.4, rng.uniform(-0.2, 0.2), 3.0))
    ax = sx0 + sw + rng.uniform(0.05, 0.15) * W
    if ax < 0.9 * W:
        cv.paint(cv.new(S["armchair"]), cv.rect(fl - 0.15 * H, fl + 0.08 * H, ax, min(W, ax + 0.15 * W)))
    tx = rng.uniform(0.2, 0.6) * W
    cv.paint(cv.new(S["table"]), cv.rect(fl + 0.08 * H, fl + 0.16 * H, tx, tx + rng.uniform(0.15, 0.25) * W))
    if rng.random() < 0.5:
        lx = rng.uniform(0.03, 0.1) * W
        cv.paint(cv.new(S["lamp"]), cv.superellipse(fl - 0.25 * H, lx, 0.05 * H, 0.03 * W, 0.0, 1.5))
    _lights(rng, cv, top)


def _scene_street(rng: np.random.Generator, cv: _Canvas) -> None:
    H, W = cv.height, cv.width
    S = SCENE_CLASSES
    horizon = _wavy(rng, W, rng.uniform(0.3, 0.45) * H, 0.01 * H)
    road_top = _wavy(rng, W, rng.uniform(0.6, 0.7) * H, 0.005 * H)
    sky = cv.new(S["sky"])
    cv.paint(sky, cv.rows_between(np.zeros(W, np.float32), road_top))
    building = cv.new(S["building"])
    x = 0.0
    while x < W:  # skyline of rectangles
        bw = rng.uniform(0.08, 0.25) * W
        cv.paint(building, cv.rect(rng.uniform(0.05, 0.35) * H, H, x, x + bw))
        x += bw + rng.uniform(0, 0.05) * W
    sidewalk = cv.new(S["sidewalk"])
    cv.paint(sidewalk, cv.rows_between(road_top - 0.06 * H, road_top))
    road = cv.new(S["road"])
    cv.paint(road, cv.rows_between(road_top, np.full(W, H, np.float32)))
    if rng.random() < 0.8:
        tree = cv.new(S["tree"])
        for _ in range(int(rng.integers(1, 4))):
            tx, r = rng.uniform(0, W), rng.uniform(0.05, 0.1) * W
            cv.paint(tree, cv.superellipse(float(horizon.mean()) - r * 0.5, tx, r, r * 0.9))
            cv.paint(tree, cv.rect(float(horizon.mean()), road_top.mean() - 0.03 * H, tx - 0.01 * W, tx + 0.01 * W))
    rt = float(road_top.mean())
    for _ in range(int(rng.integers(1, 3))):  # poles with signboards / street lamps / traffic lights
        px = rng.uniform(0.02, 0.98) * W
        kind = rng.choice(["signboard", "street lamp", "traffic light", "pole"])
        ptop = rng.uniform(0.15, 0.35) * H
        if kind == "street lamp":
            lamp = cv.new(S["street lamp"])
            cv.paint(lamp, cv.rect(ptop, rt, px - 0.006 * W, px + 0.006 * W))
            cv.paint(lamp, cv.superellipse(ptop, px + 0.02 * W, 0.012 * H, 0.03 * W))
        else:
            cv.paint(cv.new(S["pole"]), cv.rect(ptop, rt, px - 0.005 * W, px + 0.005 * W))
            if kind == "signboard":
                cv.paint(cv.new(S["signboard"]), cv.rect(ptop - 0.06 * H, ptop + 0.02 * H, px - 0.05 * W, px + 0.05 * W))
            elif kind == "traffic light":
                cv.paint(cv.new(S["traffic light"]), cv.rect(ptop, ptop + 0.09 * H, px - 0.012 * W, px + 0.012 * W))
    if rng.random() < 0.7:  # shop signs on buildings
        for _ in range(int(rng.integers(1, 3))):
            sx = rng.uniform(0, 0.85) * W
            sy = rng.uniform(0.35, 0.5) * H
            cv.paint(cv.new(S["signboard"]), cv.rect(sy, sy + 0.05 * H, sx, sx + rng.uniform(0.08, 0.15) * W))
    for _ in range(int(rng.integers(1, 5))):  # people on the sidewalk
        px = rng.uniform(0, W)
        h = rng.uniform(0.12, 0.22) * H
        cv.paint(cv.new(S["person"]), cv.superellipse(rt - h / 2, px, h / 2, h / 6, 0.0, 2.5))
    for _ in range(int(rng.integers(1, 5))):  # cars on the road
        cw = rng.uniform(0.12, 0.25) * W
        cy = rng.uniform(rt + 0.05 * H, H - 0.05 * H)
        cx = rng.uniform(0, W)
        cv.paint(cv.new(S["car"]), cv.superellipse(cy, cx, cw * 0.28, cw / 2, 0.0, 4.0))


_SCENE_BUILDERS = {"bedroom": _scene_bedroom, "living_room": _scene_living_room, "street": _scene_street}


# ---- rendering ---------------------------------------------------------------------------------
def _texture(kind: str, period: float, yy: np.ndarray, xx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pattern in [-1, 1] on the given coordinates (float32 arrays of one shape)."""
    w = 2 * math.pi / period
    if kind == "hstripes":
        return np.sign(np.sin(w * yy))
    if kind == "vstripes":
        return np.sign(np.sin(w * xx))
    if kind == "dstripes":
        return np.sin(w * (xx + yy) * 0.7071)
    if kind == "checker":
        return ((np.floor(yy / period) + np.floor(xx / period)) % 2) * 2 - 1
    if kind == "rings":
        return np.sin(w * np.sqrt(yy * yy + xx * xx))
    if kind == "dots":
        return (np.sin(w * yy) * np.sin(w * xx) > 0.6).astype(np.float32) * 2 - 1
    if kind == "noise":
        return rng.uniform(-1, 1, size=yy.shape).astype(np.float32)
    return np.zeros(yy.shape, dtype=np.float32)


def _render(rng: np.random.Generator, seg: np.ndarray, cats: Sequence[int]) -> np.ndarray:
    """[H, W, 3] uint8 image with class-dependent colour and texture (VOID: grey)."""
    H, W = seg.shape
    n = len(cats)
    base = np.zeros((3, n + 1), dtype=np.int16)
    base[:, 0] = 128
    for i, c in enumerate(cats):
        tint = int(rng.integers(-12, 13))  # per-instance tint: instances of one class differ a little
        base[:, i + 1] = (np.asarray(class_color(c), dtype=np.int16) * 4) // 5 + tint
    flat = seg.reshape(-1).astype(np.int16)
    order = np.argsort(flat, kind="stable")  # radix sort for int16
    bounds = np.searchsorted(flat[order], np.arange(n + 2))
    tex = rng.integers(-5, 6, size=H * W, dtype=np.int16)  # sensor noise
    for i, c in enumerate(cats):
        kind, period, amp = class_texture(c)
        if kind == "flat" or bounds[i + 2] == bounds[i + 1]:
            continue
        pix = order[bounds[i + 1] : bounds[i + 2]]
        yy = (pix // W).astype(np.float32)
        xx = (pix % W).astype(np.float32)
        tex[pix] += (amp * _texture(kind, period, yy, xx, rng)).astype(np.int16)
    out = np.empty((H * W, 3), dtype=np.uint8)
    for ch in range(3):
        v = np.take(base[ch], flat)
        v += tex
        np.clip(v, 0, 255, out=v)
        out[:, ch] = v
    return out.reshape(H, W, 3)


# ---- one image ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ImageSpec:
    index: int
    image_id: Any
    stem: str


def _make_image(cfg: SyntheticConfig, cats: CategorySet, index: int) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, str | None]:
    """-> (ids [H, W] uint32, segments_info, image [H, W, 3] uint8, scene name or None)."""
    rng = np.random.default_rng([cfg.seed, index])
    scene = None
    if cfg.scenes:
        scene = SCENES[int(rng.integers(0, len(SCENES)))]
        cv = _Canvas(cfg.height, cfg.width, frozenset(c.id for c in cats if c.isthing))
        _SCENE_BUILDERS[scene](rng, cv)
        _void_blobs(rng, cv, cfg.void_fraction)
    else:
        cv = _random_scene(rng, cfg, cats)
    seg = cv.seg
    n = len(cv.cats)
    counts = np.bincount(seg.reshape(-1), minlength=n + 1)
    stuff_area = np.bincount(cv.stuff_seg.reshape(-1), minlength=n + 1) if cfg.stuff_area == "before_things" else None
    # segment ids: stuff ids from the class colour (unique per class), things random and distinct
    isthing = {c.id: c.isthing for c in cats}
    from scipy.ndimage import find_objects

    boxes = find_objects(seg, max_label=n)
    used: set[int] = set()
    seg_ids = np.zeros(n + 1, dtype=np.uint32)
    infos: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        c = cv.cats[i - 1]
        keep_empty = stuff_area is not None and not isthing[c] and stuff_area[i] > 0
        if counts[i] == 0 and not keep_empty:
            continue
        if not isthing[c]:
            sid = _stuff_segment_id(c)
            while sid in used:
                sid = (sid * 7 + 1) % MAX_ID or 1
        else:
            sid = int(rng.integers(1, MAX_ID + 1))
            while sid in used:
                sid = int(rng.integers(1, MAX_ID + 1))
        used.add(sid)
        seg_ids[i] = sid
        area = int(counts[i])
        if stuff_area is not None and not isthing[c]:
            area = max(area, int(stuff_area[i]))
        infos.append({"id": sid, "category_id": int(c), "iscrowd": int(cv.crowd[i - 1] and isthing[c]),
                      "area": area, "bbox": _bbox(boxes[i - 1])})
    ids = seg_ids[seg]
    image = _render(rng, seg, cv.cats) if cfg.write_images else np.zeros((0, 0, 3), np.uint8)
    return ids, infos, image, scene


def _bbox(box: tuple[slice, slice] | None) -> list[int]:
    """COCO [x, y, width, height] of a find_objects box ([0, 0, 0, 0] for a segment without pixels)."""
    if box is None:
        return [0, 0, 0, 0]
    ys, xs = box
    return [int(xs.start), int(ys.start), int(xs.stop - xs.start), int(ys.stop - ys.start)]


def _image_names(layout: str, index: int) -> tuple[Any, str]:
    """(image_id, file stem) in the style of the real dataset."""
    if layout == "ade20k":
        stem = f"ADE_val_{index + 1:08d}"
        return stem, stem
    return index + 1, f"{index + 1:012d}"


def _write_chunk(args: tuple[SyntheticConfig, str, str, list[int]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    cfg, png_dir, image_dir, indices = args
    from PIL import Image

    from ..taxonomy.classes import load_class_list
    from .catalog import LAYOUTS

    cats = load_class_list(LAYOUTS[cfg.layout].class_list)
    out = []
    for index in indices:
        ids, infos, image, scene = _make_image(cfg, cats, index)
        image_id, stem = _image_names(cfg.layout, index)
        Image.fromarray(id2rgb(ids)).save(Path(png_dir) / f"{stem}.png", compress_level=6)
        if cfg.write_images:
            Image.fromarray(image).save(Path(image_dir) / f"{stem}.jpg", quality=cfg.jpeg_quality)
        img_entry: dict[str, Any] = {"id": image_id, "file_name": f"{stem}.jpg", "height": cfg.height, "width": cfg.width}
        if scene is not None:
            img_entry["scene"] = scene
        out.append((img_entry, {"image_id": image_id, "file_name": f"{stem}.png", "segments_info": infos}))
    return out


def _categories_json(cats: CategorySet) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "isthing": int(c.isthing), "supercategory": "thing" if c.isthing else "stuff",
             "color": list(class_color(c.id))} for c in cats]


def _run_chunks(fn: Any, tasks: list[Any], workers: int | None) -> list[Any]:
    from ..workers import default_workers

    workers = default_workers() if workers is None else max(1, int(workers))
    if workers == 1 or len(tasks) <= 1:
        return [fn(t) for t in tasks]
    from ..pools import worker_pool

    with worker_pool(min(workers, len(tasks))) as pool:
        return pool.map(fn, tasks)


def _split(n: int, parts: int) -> list[list[int]]:
    return [list(range(i, min(n, i + parts))) for i in range(0, n, parts)]


def generate_dataset(
    out_dir: str | os.PathLike[str],
    n_images: int,
    seed: int = 0,
    *,
    layout: str = "ade20k",
    height: int = 512,
    width: int = 683,
    min_segments: int = 10,
    max_segments: int = 40,
    scenes: bool = False,
    crowd_fraction: float | None = None,
    void_fraction: float = 0.02,
    stuff_area: str | None = None,
    write_images: bool = True,
    workers: int | None = None,
) -> Path:
    """Write a synthetic dataset under `out_dir` in the real layout; returns the JSON path.

    layout: ``ade20k`` (ADEChallengeData2016/..., category ids 0..149, string image ids
    ``ADE_val_0000000i``) or ``coco`` (coco/annotations/panoptic_val2017.json, ids 1..200, int image
    ids). Sizes in pixels; segments per image in [min_segments, max_segments] before occlusion.
    crowd_fraction: share of thing instances marked ``iscrowd`` (default 0.05 for coco, 0 for ade20k).
    void_fraction: approximate share of VOID pixels per image (0 disables VOID blobs).
    stuff_area: ``before_things`` (ADE20K default, see module docstring) or ``png``.
    """
    from ..taxonomy.classes import load_class_list
    from .catalog import dataset_paths

    cfg = SyntheticConfig(layout, n_images, seed, height, width, min_segments, max_segments, scenes, crowd_fraction,
                          void_fraction, stuff_area, write_images).resolved()
    json_path, png_dir, image_dir = dataset_paths(cfg.layout, out_dir)
    png_dir.mkdir(parents=True, exist_ok=True)
    if cfg.write_images:
        image_dir.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    from .catalog import LAYOUTS

    cats = load_class_list(LAYOUTS[cfg.layout].class_list)
    tasks = [(cfg, str(png_dir), str(image_dir), chunk) for chunk in _split(cfg.n_images, 16)]
    images, annotations = [], []
    for chunk in _run_chunks(_write_chunk, tasks, workers):
        for img, ann in chunk:
            images.append(img)
            annotations.append(ann)
    data = {
        "info": {"description": f"ovbench synthetic {cfg.layout} panoptic dataset", "generator": asdict(cfg)},
        "images": images,
        "annotations": annotations,
        "categories": _categories_json(cats),
    }
    _atomic_json(json_path, data)
    return json_path


def _atomic_json(path: Path, data: Any) -> None:
    from ..atomic import write_text_atomic

    write_text_atomic(path, json.dumps(data, separators=(",", ":")))


# ---- predictions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PredictionNoise:
    """Per-segment error probabilities and sizes (pixels) of :func:`generate_predictions`.

    Each GT segment is missed with p_miss, else eroded or dilated by up to max_morph pixels
    (p_erode / p_dilate), shifted by up to max_shift pixels (p_shift) and given a wrong class of
    the same kind (p_wrong_class); Poisson(spurious_per_image) random things are added. Stuff
    classes stay unique per image, as panoptic inference produces them. Pixels no segment
    covers stay VOID unless fill_void."""

    p_miss: float = 0.1
    p_wrong_class: float = 0.1
    p_shift: float = 0.3
    max_shift: int = 12
    p_erode: float = 0.15
    p_dilate: float = 0.15
    max_morph: int = 4
    spurious_per_image: float = 1.5
    #: give every VOID pixel of the prediction to its left (else right) neighbour's segment
    fill_void: bool = False


def _morph(mask: np.ndarray, r: int, dilate: bool) -> np.ndarray:
    from scipy import ndimage

    if dilate:
        return ndimage.binary_dilation(np.pad(mask, r), iterations=r)
    return ndimage.binary_erosion(np.pad(mask, r), iterations=r)


def _predict_image(
    rng: np.random.Generator, gt: np.ndarray, segs: list[dict[str, Any]], cats: CategorySet, noise: PredictionNoise
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    H, W = gt.shape
    isthing = {c.id: c.isthing for c in cats}
    thing_ids = [c.id for c in cats if c.isthing]
    stuff_ids = [c.id for c in cats if not c.isthing]
    from scipy.ndimage import find_objects

    from .panoptic_format import compact_labels

    out = np.zeros((H, W), dtype=np.int32)
    cat_of: list[int] = []
    lab = compact_labels(gt, np.array([s["id"] for s in segs], dtype=np.int64), what="ground truth").reshape(H, W)
    boxes = find_objects(lab.astype(np.int32), max_label=len(segs))
    order = sorted(range(len(segs)), key=lambda i: isthing[segs[i]["category_id"]])  # stuff first
    for i in order:
        s = segs[i]
        if rng.random() < noise.p_miss:
            continue
        if boxes[i] is None:
            continue
        ys, xs = boxes[i]
        y0, y1, x0, x1 = ys.start, ys.stop, xs.start, xs.stop
        m = lab[y0:y1, x0:x1] == i + 1
        u = rng.random()
        if u < noise.p_erode:
            r = int(rng.integers(1, noise.max_morph + 1))
            m = _morph(m, r, dilate=False)
            y0, x0, y1, x1 = y0 - r, x0 - r, y1 + r, x1 + r
        elif u < noise.p_erode + noise.p_dilate:
            r = int(rng.integers(1, noise.max_morph + 1))
            m = _morph(m, r, dilate=True)
            y0, x0, y1, x1 = y0 - r, x0 - r, y1 + r, x1 + r
        if rng.random() < noise.p_shift:
            dy, dx = (int(v) for v in rng.integers(-noise.max_shift, noise.max_shift + 1, 2))
            y0, y1, x0, x1 = y0 + dy, y1 + dy, x0 + dx, x1 + dx
        c = int(s["category_id"])
        if rng.random() < noise.p_wrong_class:
            c = int(rng.choice(thing_ids if isthing[c] else stuff_ids))
        if not isthing[c]:
            # panoptic inference merges the stuff of a class into one segment: keep stuff classes unique
            taken = {x for x in cat_of if not isthing[x]}
            if c in taken:
                free = [x for x in stuff_ids if x not in taken]
                if not free:
                    continue
                c = int(rng.choice(free))
        cat_of.append(c)
        _paste(out, m, y0, x0, len(cat_of))
    for _ in range(int(rng.poisson(noise.spurious_per_image))):
        r = rng.uniform(0.02, 0.1) * min(H, W)
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        yy = np.arange(H, dtype=np.float32)[:, None] - cy
        xx = np.arange(W, dtype=np.float32)[None, :] - cx
        m = (yy / r) ** 2 + (xx / (r * rng.uniform(0.5, 2))) ** 2 <= 1
        cat_of.append(int(rng.choice(thing_ids or stuff_ids)))
        out[m] = len(cat_of)
    if noise.fill_void and (out == 0).any():
        taken = set(cat_of)
        out = _fill_void(out, rng, cat_of, [x for x in stuff_ids if x not in taken] or thing_ids)
    n = len(cat_of)
    counts = np.bincount(out.reshape(-1), minlength=n + 1)
    lut = np.zeros(n + 1, dtype=np.uint32)
    infos = []
    used: set[int] = set()
    for k in range(1, n + 1):
        if counts[k] == 0:
            continue
        sid = int(rng.integers(1, MAX_ID + 1))
        while sid in used:
            sid = int(rng.integers(1, MAX_ID + 1))
        used.add(sid)
        lut[k] = sid
        infos.append({"id": sid, "category_id": cat_of[k - 1], "iscrowd": 0, "area": int(counts[k])})
    return lut[out], infos


def _paste(out: np.ndarray, m: np.ndarray, y0: int, x0: int, value: int) -> None:
    H, W = out.shape
    h, w = m.shape
    a, b = max(0, y0), min(H, y0 + h)
    c, d = max(0, x0), min(W, x0 + w)
    if a >= b or c >= d:
        return
    sub = m[a - y0 : b - y0, c - x0 : d - x0]
    out[a:b, c:d][sub] = value


def _fill_void(out: np.ndarray, rng: np.random.Generator, cat_of: list[int], fallback: list[int]) -> np.ndarray:
    """Fill VOID pixels from the left neighbour along each row (then from the right)."""
    H, W = out.shape
    idx = np.where(out > 0, np.arange(W)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(out, idx, axis=1)
    if (filled == 0).any():  # leading VOID: fill from the right
        rev = filled[:, ::-1]
        idx = np.where(rev > 0, np.arange(W)[None, :], 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        filled = np.take_along_axis(rev, idx, axis=1)[:, ::-1]
    if (filled == 0).any():  # whole rows of VOID: one extra segment
        cat_of.append(int(rng.choice(fallback)))
        filled[filled == 0] = len(cat_of)
    return filled


def _predict_chunk(args: tuple[str, str, list[tuple[int, str, str, list[dict[str, Any]]]], int, PredictionNoise, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    from PIL import Image

    gt_folder, out_folder, items, seed, noise, cats_json = args
    cats = CategorySet.from_coco(cats_json)
    anns = []
    for index, image_id, png_name, segs in items:
        gt = read_panoptic_ids(Path(gt_folder) / png_name, what=f"image {image_id!r} (ground truth)").astype(np.int64)
        rng = np.random.default_rng([seed, index, 7])
        ids, infos = _predict_image(rng, gt, segs, cats, noise)
        Image.fromarray(id2rgb(ids)).save(Path(out_folder) / png_name, compress_level=6)
        anns.append({"image_id": image_id, "file_name": png_name, "segments_info": infos})
    return anns


def generate_predictions(
    gt_json: str | os.PathLike[str],
    out_json: str | os.PathLike[str],
    *,
    gt_folder: str | os.PathLike[str] | None = None,
    out_folder: str | os.PathLike[str] | None = None,
    seed: int = 0,
    noise: PredictionNoise | None = None,
    workers: int | None = None,
) -> Path:
    """Write a COCO-panoptic prediction for the ground truth `gt_json` (PNG folder `gt_folder`,
    default: :func:`ovbench.data.catalog.default_png_dir`) to `out_json` and `out_folder` (default: `out_json`
    without ``.json``). Deterministic in `seed`. Returns `out_json`."""
    gt_json, out_json = Path(gt_json), Path(out_json)
    from .catalog import default_png_dir

    gt_folder = Path(gt_folder) if gt_folder is not None else default_png_dir(gt_json)
    out_folder = Path(out_folder) if out_folder is not None else out_json.with_suffix("")
    noise = noise or PredictionNoise()
    try:
        with open(gt_json) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read ground-truth JSON {gt_json} ({exc})") from exc
    out_folder.mkdir(parents=True, exist_ok=True)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    items = [(i, a["image_id"], a["file_name"], a["segments_info"]) for i, a in enumerate(data["annotations"])]
    tasks = [(str(gt_folder), str(out_folder), items[i : i + 16], seed, noise, data["categories"])
             for i in range(0, len(items), 16)]
    anns: list[dict[str, Any]] = []
    for chunk in _run_chunks(_predict_chunk, tasks, workers):
        anns.extend(chunk)
    _atomic_json(out_json, {"annotations": anns, "categories": data["categories"]})
    return out_json


__all__ = ["SyntheticConfig", "PredictionNoise", "generate_dataset", "generate_predictions", "class_color", "class_texture",
           "SCENES", "SCENE_CLASSES"]
