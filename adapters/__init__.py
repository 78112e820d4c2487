"""Model adapters: one sub-package per model, registered by name in ``ADAPTERS``.

Built-ins are listed as lazy ``"module:Class"`` strings, so ``import ovbench`` never imports
torch or detectron2. Third-party adapters register with ``@register_adapter("name")`` or the
``ovbench.adapters`` entry-point group (``name = "package.module:Class"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ovbench.raw.record import MaskGeometry, RawOutput
from ovbench.registry import Registry

from .base import Adapter, AdapterInfo

ADAPTERS: Registry = Registry("adapter", entry_point_group="ovbench.adapters")
for _name, _target in {
    "dump": "ovbench.adapters.dump.adapter:DumpAdapter",
    "simulated": "ovbench.adapters.simulated.adapter:SimulatedAdapter",
    "fcclip": "ovbench.adapters.fcclip.adapter:FCCLIPAdapter",
    "maftplus": "ovbench.adapters.maftplus.adapter:MAFTPlusAdapter",
    "transformers": "ovbench.adapters.transformers.adapter:TransformersAdapter",
}.items():
    ADAPTERS.add(_name, _target)

A = TypeVar("A", bound=type)


def register_adapter(name: str) -> Callable[[A], A]:
    """Class decorator registering an :class:`Adapter` subclass under `name`."""
    return ADAPTERS.register(name)


def get_adapter(name: str, **kwargs: Any) -> Adapter:
    """Instantiate the adapter registered as `name` with keyword arguments."""
    from ovbench.errors import ConfigError

    cls = ADAPTERS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise ConfigError(f"adapter {name!r} is registered as {cls!r}, which is not an ovbench Adapter subclass")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"adapter {name!r} does not accept the arguments {sorted(kwargs)}: {exc}") from exc


__all__ = ["ADAPTERS", "Adapter", "AdapterInfo", "MaskGeometry", "RawOutput", "get_adapter", "register_adapter"]
