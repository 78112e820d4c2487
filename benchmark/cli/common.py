"""Options shared by several sub-commands (one spelling and one default for each)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError


def add_dataset_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("dataset")
    g.add_argument("--dataset", default="ade20k_panoptic_val",
                   help="catalog name (`ovbench ls datasets`) or a COCO-panoptic JSON path, as for vlm-oracle "
                        "(default: ade20k_panoptic_val)")
    g.add_argument("--dataset-root", default=None,
                   help="folder holding the dataset in the detectron2 layout (default: $OVBENCH_DATASETS, then "
                        "$DETECTRON2_DATASETS, then ./datasets); for a JSON path: the image folder (default: images/ next to it)")
    g.add_argument("--limit", type=int, default=None, help="evaluate only the first N images (smoke tests)")


def add_adapter_args(p: argparse.ArgumentParser) -> None:
    from ..device import DEVICE_HELP

    g = p.add_argument_group("model")
    g.add_argument("--adapter", required=True, help="registered adapter name (`ovbench ls adapters`)")
    g.add_argument("--adapter-arg", action="append", default=[], metavar="KEY=VALUE", help="constructor argument of the adapter (repeatable), e.g. path=dumps/fcclip")
    g.add_argument("--plugin", action="append", default=[], metavar="FILE_OR_MODULE", help="import a Python file or module that registers adapters (@register_adapter), e.g. my_adapter.py")
    g.add_argument("--device", default=None, help=f"device of adapters that take one: {DEVICE_HELP}")


def add_workers_arg(p: argparse.ArgumentParser, what: str = "worker processes") -> None:
    """``--workers``, with the same default on every command: every CPU this process may use."""
    from ..workers import default_workers

    n = default_workers()
    p.add_argument("--workers", type=int, default=n, help=f"{what} (default: every CPU this process may use, {n} here)")


def add_quiet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def load_plugins(items: list[str]) -> None:
    """Import user files/modules so that their ``@register_adapter`` decorators run.

    A file's folder is on ``sys.path`` while it is imported, so ``from my_model import ...``
    finds a sibling module without ``PYTHONPATH``."""
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
            folder = str(path.resolve().parent)
            sys.path.insert(0, folder)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:
                sys.modules.pop(name, None)
                raise ConfigError(f"--plugin {item}: cannot import ({exc})") from exc
            finally:
                try:
                    sys.path.remove(folder)
                except ValueError:  # pragma: no cover - the plugin removed it itself
                    pass
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


def adapter_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``--adapter-arg`` pairs plus ``--device`` for adapters whose constructor takes ``device``.

    ``--device`` (default auto) is resolved to a concrete device; an explicit ``--adapter-arg
    device=...`` wins when ``--device`` is not given, and the two must agree when both are."""
    import inspect

    from ovbench.adapters import ADAPTERS

    from ..device import check_device, resolve_device

    kwargs = parse_kv(args.adapter_arg)
    device = getattr(args, "device", None)
    if device is not None:
        check_device(device)
    cls = ADAPTERS.get(args.adapter)
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        params = []
    takes_device = any(p.name == "device" or p.kind is p.VAR_KEYWORD for p in params)
    if not takes_device:
        if device not in (None, "auto"):
            raise ConfigError(f"--device {device}: adapter {args.adapter!r} takes no device (it runs on the CPU)")
        return kwargs
    if "device" in kwargs:
        if device is not None and resolve_device(device) != resolve_device(kwargs["device"]):
            raise ConfigError(f"--device {device} and --adapter-arg device={kwargs['device']} disagree; give one")
        kwargs["device"] = resolve_device(kwargs["device"])
    else:
        kwargs["device"] = resolve_device(device or "auto")
    return kwargs


def get_dataset(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The dataset of ``--dataset`` / ``--dataset-root``: a catalog name or a COCO-panoptic JSON
    path (the same rule as ``vlm-oracle``: ``ovbench.vlm.dataset_access.open_dataset``)."""
    from ..vlm.dataset_access import open_dataset

    return open_dataset(args.dataset, args.dataset_root)
