"""Input-resolution protocols of the VLM oracle (paper, Section 4.1 and Table 1).

Three protocols:

* ``long512``: longer side resized to 512, aspect ratio kept;
* ``long640``: longer side resized to 640, aspect ratio kept;
* ``short800``: shorter side resized to 800, longer side capped at 1333, aspect ratio kept
  (detectron2's ``ResizeShortestEdge(800, max_size=1333)``, the FC-CLIP test-time resize).

Rounding follows detectron2 (``detectron2/data/transforms/augmentation_impl.py``,
``ResizeShortestEdge.get_output_shape``): compute float sizes, then ``int(x + 0.5)`` per side.
The long-side protocols use the same rounding with ``scale = L / max(h, w)``.

After resizing, the input is zero-padded at the bottom and right (in normalised pixel space, i.e.
with the mean colour) to a multiple of the network's ``size_divisibility`` (the ViT patch size, or
32 for ConvNeXt, as FC-CLIP's ``SIZE_DIVISIBILITY 32``). ``pad="square"`` pads further to an
``L x L`` square (long-side protocols only), a reading of the table header "512x512".

Pure Python; no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class ResolutionProtocol:
    """A resize rule. ``kind`` is ``"long"`` (longer side = ``size``) or ``"short"`` (shorter side
    = ``size``, longer side at most ``max_size``)."""

    name: str
    kind: str
    size: int
    max_size: int | None = None
    title: str = ""

    def resized_shape(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) in pixels of the resized image (before padding) for an ``height x width`` input."""
        if height <= 0 or width <= 0:
            raise ConfigError(f"cannot resize an image of size {height}x{width}")
        h, w = float(height), float(width)
        if self.kind == "long":
            scale = self.size / max(h, w)
            newh, neww = h * scale, w * scale
        elif self.kind == "short":
            scale = self.size / min(h, w)
            newh, neww = (self.size, scale * w) if h < w else (scale * h, self.size)
            if self.max_size is not None and max(newh, neww) > self.max_size:
                scale = self.max_size / max(newh, neww)
                newh, neww = newh * scale, neww * scale
        else:  # pragma: no cover - guarded by the constructor table
            raise ConfigError(f"unknown protocol kind {self.kind!r}")
        return int(newh + 0.5), int(neww + 0.5)


PROTOCOLS: dict[str, ResolutionProtocol] = {
    "long512": ResolutionProtocol("long512", "long", 512, title="longer side 512 (Table 1: 512x512)"),
    "long640": ResolutionProtocol("long640", "long", 640, title="longer side 640 (Table 1: 640x640)"),
    "short800": ResolutionProtocol("short800", "short", 800, 1333, title="shorter side 800, longer side <= 1333 (Table 1: 800x1333)"),
}

PAD_MODES = ("multiple", "square")


def get_protocol(name: str) -> ResolutionProtocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ConfigError(f"unknown resolution protocol {name!r}; choose one of {', '.join(PROTOCOLS)}") from None


def padded_shape(resized: tuple[int, int], divisibility: int, protocol: ResolutionProtocol, pad: str = "multiple") -> tuple[int, int]:
    """(Hp, Wp): ``resized`` padded up to a multiple of ``divisibility`` (and to a square of the
    protocol's size with ``pad="square"``, which only long-side protocols allow)."""
    if pad not in PAD_MODES:
        raise ConfigError(f"unknown pad mode {pad!r}; choose one of {', '.join(PAD_MODES)}")
    h, w = resized
    if pad == "square":
        if protocol.kind != "long":
            raise ConfigError(f"pad='square' needs a long-side protocol, not {protocol.name!r}")
        h = w = max(protocol.size, h, w)
    d = max(int(divisibility), 1)
    return int(math.ceil(h / d) * d), int(math.ceil(w / d) * d)
