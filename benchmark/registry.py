"""One generic, lazy registry used for adapters, oracles and datasets.

Values are either objects or ``"module:attr"`` strings imported on first use, so that
``import ovbench`` never imports torch or detectron2. Third-party adapters register through
the entry-point group ``ovbench.adapters``; a plugin that fails to import is reported in the
error for an unknown name instead of crashing the whole registry.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object map whose entries may be lazy ``"module:attr"`` strings."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._plugin_errors: dict[str, str] = {}
        self._plugins_loaded = entry_point_group is None

    def add(self, name: str, target: T | str, *, replace_placeholder: bool = True) -> None:
        """Register `target` under `name`. A lazy string placeholder may be replaced by the
        object it names (that is what a decorator in the target module does)."""
        if name in self._entries:
            existing = self._entries[name]
            if not (replace_placeholder and isinstance(existing, str) and not isinstance(target, str)):
                raise RegistryError(f"duplicate {self.kind} name {name!r}")
        self._entries[name] = target

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group or ""):
            if ep.name in self._entries:
                continue
            self._entries[ep.name] = ep.value

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """Return the object registered as `name`, importing it if it is still lazy."""
        self._load_plugins()
        if name not in self._entries:
            msg = f"unknown {self.kind} {name!r}; available: {', '.join(self.names()) or '(none)'}"
            close = difflib.get_close_matches(name, self.names(), n=3)
            if close:
                msg += f". Did you mean {', '.join(repr(c) for c in close)}?"
            if self._plugin_errors:
                msg += ". Plugins that failed to import: " + "; ".join(
                    f"{k}: {v}" for k, v in sorted(self._plugin_errors.items())
                )
            raise RegistryError(msg)
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                self._plugin_errors[name] = f"{type(exc).__name__}: {exc}"
                raise RegistryError(f"{self.kind} {name!r} could not be imported from {module_name!r}: {exc}") from exc
            current = self._entries[name]
            obj = current if not isinstance(current, str) else getattr(module, attr)
            self._entries[name] = obj
            return obj
        return target
