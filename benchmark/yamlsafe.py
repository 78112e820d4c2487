"""Reading YAML that someone else wrote: a size cap, and no aliases.

PyYAML's safe loader builds no objects, but aliases still let a few hundred bytes expand into
billions of nodes once anything walks the result (the "billion laughs" document). Every YAML
file a submitter controls (``submission.yaml``, taxonomy files, suite files, configs) is read
through :func:`check_yaml_text` first: it refuses files above a size cap and any alias (``*name``),
scanning the event stream once (linear in the file size, well under a second at the cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

#: default cap for taxonomy, suite and config files (the largest shipped taxonomy is ~0.2 MB)
MAX_YAML_BYTES = 4 << 20
#: cap for a submission manifest (a few dozen lines)
MAX_MANIFEST_BYTES = 64 << 10

try:
    _Loader: type = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - pyyaml without libyaml
    _Loader = yaml.SafeLoader


def yaml_problem(text: str | bytes, *, max_bytes: int = MAX_YAML_BYTES, allow_aliases: bool = False) -> str | None:
    """Why `text` may not be loaded (too large, holds an alias, or not YAML), or None if it may."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > max_bytes:
        return f"is {size} bytes, over the limit of {max_bytes} bytes for this YAML file"
    if allow_aliases:
        return None
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                return (f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not allowed in this file"
                        " (write the value out)")
    except yaml.YAMLError:
        return None  # a syntax error: the caller's loader reports it, in its own words, before any alias is reached
    return None


def check_yaml_text(text: str | bytes, source: str, error: type[Exception], *, max_bytes: int = MAX_YAML_BYTES,
                    allow_aliases: bool = False) -> None:
    """Raise `error` ("<source>: <problem>") when :func:`yaml_problem` finds one."""
    problem = yaml_problem(text, max_bytes=max_bytes, allow_aliases=allow_aliases)
    if problem is not None:
        raise error(f"{source}: {problem}")


def read_limited(path: str | Path, error: type[Exception], *, max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of `path`, reading at most `max_bytes` + 1 bytes (a huge file is never read whole)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise error(f"{path}: is over the limit of {max_bytes} bytes for this YAML file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None


def load_yaml_file(path: str | Path, error: type[Exception], *, max_bytes: int = MAX_YAML_BYTES,
                   allow_aliases: bool = False) -> Any:
    """``yaml.safe_load`` of `path` after the size and alias checks; every problem is `error` naming the file."""
    text = read_limited(path, error, max_bytes=max_bytes)
    check_yaml_text(text, str(path), error, max_bytes=max_bytes, allow_aliases=allow_aliases)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise error(f"{path}: YAML error: {exc}") from None
