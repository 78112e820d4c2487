"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError


def add_dataset_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dataset")
    g.add_argument("--dataset", default="ade20k_panoptic_val", help="catalog name (default: ade20k_panoptic_val); `ovbench ls datasets` lists them")
    g.add_argument("--dataset-root", default=None, help="folder holding the dataset in the detectron2 layout (default: $OVBENCH_DATASETS, then $DETECTRON2_DATASETS, then ./datasets)")
    g.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (smoke tests)")


def add_adapter_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--adapter", required=True, help="registered adapter name (`ovbench ls adapters`)")
    g.add_argument("--adapter-arg", action="append", default=[], metavar="KEY=VALUE", help="constructor argument of the adapter (repeatable), e.g. path=dumps/fcclip")


def parse_kv(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--adapter-arg expects KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = value
    return out


def get_dataset(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..data.catalog import get_dataset as _get

    return _get(args.dataset, root=args.dataset_root)
