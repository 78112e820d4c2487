"""The run spec (everything that determines the numbers) and the environment record."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

PACKAGES = ("numpy", "scipy", "pillow", "pandas", "networkx", "pyyaml", "pycocotools", "pyspng", "torch", "torchvision", "open_clip_torch", "timm", "detectron2")


@dataclass(frozen=True)
class RunSpec:
    """What determines a run's numbers. Its hash tags shards (resume) and results."""

    adapter: dict[str, Any]  # AdapterInfo.to_json() + constructor arguments
    dataset: dict[str, Any]  # name, annotation_sha256, num_images
    suite: dict[str, Any]  # name, version, sha256
    taxonomy: dict[str, Any]  # name, sha256, seen_protocol
    settings: dict[str, Any]  # inference + matching settings

    def to_json(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "dataset": self.dataset, "suite": self.suite, "taxonomy": self.taxonomy, "settings": self.settings}

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True, default=str).encode()).hexdigest()


def environment() -> dict[str, Any]:
    """Python, platform and versions of the packages that can change numbers."""
    pkgs = {}
    for name in PACKAGES:
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": pkgs}
