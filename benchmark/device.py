"""The ``--device`` option shared by ``run``, ``dump`` and ``vlm-oracle``: ``auto | cpu | cuda | cuda:N``."""

from __future__ import annotations

import re

from .errors import ConfigError

DEVICE_HELP = "auto | cpu | cuda | cuda:N (default auto: cuda if torch sees a GPU, else cpu)"
_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


def check_device(name: str) -> str:
    """`name` if it is a device spelling ovbench accepts, else a ConfigError."""
    if not _PATTERN.match(name):
        raise ConfigError(f"--device {name!r}: expected auto, cpu, cuda or cuda:N")
    return name


def resolve_device(name: str) -> str:
    """A concrete torch device name: ``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``
    (torch is imported only for ``auto``)."""
    check_device(name)
    if name != "auto":
        return name
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
