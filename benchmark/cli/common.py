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
    g.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE", help="import a Python file or module that registers adapters (@register_adapter), e.g. my_adapter.py")


def load_plugins(items: list[str]) -> None:
    """Import user files/modules so that their ``@register_adapter`` decorators run."""
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    for item in items:
        path = Path(item)
        if path.suffix == ".py":
            if not path.is_file():
                raise ConfigError(f"--plugin {item}: no such file")
            name = f"ovbench_plugin_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            try:
                importlib.import_module(item)
            except ImportError as exc:
                raise ConfigError(f"--plugin {item}: cannot import ({exc})") from exc


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
