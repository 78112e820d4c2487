"""YAML reading that remembers where each mapping came from.

Every mapping (``dict``) that :func:`read_yaml` returns is a :class:`Located` dict: it carries
the file and the 1-based line of its first key (``.line``) and of each key (``.key_lines``), so
validation errors can point at the offending entry. Duplicate keys inside one mapping are an
error (PyYAML would silently keep the last one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import TaxonomyError

try:  # the C loader is much faster; line marks are the same
    _Base: type = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - pyyaml without libyaml
    _Base = yaml.SafeLoader


class Located(dict):  # type: ignore[type-arg]
    """A dict that knows its source file and line (1-based; None when unknown, e.g. JSON input)."""

    file: str | None = None
    line: int | None = None
    key_lines: dict[str, int]

    def where(self, key: str | None = None) -> str:
        """``file:line`` of this mapping (or of one of its keys)."""
        line = self.key_lines.get(key, self.line) if key is not None and hasattr(self, "key_lines") else self.line
        return _fmt(self.file, line)


def _fmt(file: str | None, line: int | None) -> str:
    if file is None:
        return "<input>" if line is None else f"<input>:{line}"
    return file if line is None else f"{file}:{line}"


def where(obj: Any, key: str | None = None, *, file: str | None = None, index: int | None = None) -> str:
    """Location string for an entry: ``file:line`` when known, else ``file (entry #i)``."""
    if isinstance(obj, Located) and obj.line is not None:
        return obj.where(key)
    f = getattr(obj, "file", None) or file or "<input>"
    return f"{f} (entry #{index})" if index is not None else f


class _LineLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader whose mappings are :class:`Located` dicts."""

    source_file: str | None = None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Located:  # type: ignore[override]
        self.flatten_mapping(node)
        out = Located()
        out.file = self.source_file
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError as exc:
                raise TaxonomyError(f"{_fmt(self.source_file, key_node.start_mark.line + 1)}: unhashable mapping key") from exc
            if key in out:
                raise TaxonomyError(
                    f"{_fmt(self.source_file, key_node.start_mark.line + 1)}: duplicate key {key!r} "
                    f"(first at line {out.key_lines.get(str(key), '?')})"
                )
            out[key] = self.construct_object(value_node, deep=deep)
            out.key_lines[str(key)] = key_node.start_mark.line + 1
        return out


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    return loader.construct_mapping(node, deep=True)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def read_yaml_text(text: str, file: str | None = None) -> Any:
    """Parse YAML text; mappings become :class:`Located`. Syntax errors raise TaxonomyError with the line."""
    loader = _LineLoader(text)
    loader.source_file = file
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise TaxonomyError(f"{_fmt(file, line)}: YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{_fmt(file, None)}: YAML error: {exc}") from exc
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> tuple[Any, bytes]:
    """Read a YAML file -> (data with :class:`Located` mappings, raw bytes)."""
    from ..yamlsafe import check_yaml_text, read_limited

    path = Path(path)
    text = read_limited(path, TaxonomyError)
    check_yaml_text(text, str(path), TaxonomyError)
    return read_yaml_text(text, str(path)), text.encode("utf-8")
