"""Diagnostics beyond the paper's oracles, computed from the same forward pass.

A diagnostic is a class registered in ``DIAGNOSTICS`` (listed by name in a suite's
``diagnostics:`` section with its parameters) implementing :class:`Diagnostic`:
per-image statistics (JSON-able, mergeable), an associative merge, and a summary for the
results file plus table rows for CSV/Parquet.

Shipped (docs/diagnostics.md): ``pool_recall`` (candidate-pool vs output recall, discarded valid
masks), ``calibration`` (no-object probability of matched vs unmatched candidates), ``sweeps``
(PQ over object / overlap thresholds and FC-CLIP's ensemble alpha / beta).
"""

from ..registry import Registry
from .base import Diagnostic

DIAGNOSTICS: Registry = Registry("diagnostic")


def register_diagnostic(name: str):  # type: ignore[no-untyped-def]
    """Class decorator: ``@register_diagnostic("pool_recall")`` on a :class:`Diagnostic` subclass."""
    return DIAGNOSTICS.register(name)


# the shipped diagnostics register themselves on import (after DIAGNOSTICS exists)
from . import calibration, pool_recall, sweeps  # noqa: E402,F401

__all__ = ["DIAGNOSTICS", "Diagnostic", "register_diagnostic"]
