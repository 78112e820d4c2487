"""Diagnostics beyond the paper's oracles, computed from the same forward pass.

A diagnostic is a class registered in ``DIAGNOSTICS`` (listed by name in a suite's
``diagnostics:`` section with its parameters) implementing :class:`Diagnostic`:
per-image statistics (JSON-able, mergeable), an associative merge, and a summary for the
results file plus table rows for CSV/Parquet.
"""

from ..registry import Registry
from .base import Diagnostic

DIAGNOSTICS: Registry = Registry("diagnostic")


def register_diagnostic(name: str):  # type: ignore[no-untyped-def]
    """Class decorator: ``@register_diagnostic("pool_recall")`` on a :class:`Diagnostic` subclass."""
    return DIAGNOSTICS.register(name)


__all__ = ["DIAGNOSTICS", "Diagnostic", "register_diagnostic"]
