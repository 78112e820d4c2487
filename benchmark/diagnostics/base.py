"""The diagnostic protocol used by the runner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..data.categories import CategorySet


class Diagnostic:
    """Base class. One instance per run, built from the suite's parameters (``__init__(**params)``).

    Lifecycle per image (in worker processes): ``evaluate(ctx, predictions, matches)`` returns a
    JSON-able dict stored in the image's shard. At merge: ``merge(a, b)`` must be associative and
    exact (integer counts, or exact sums), ``summarize(total, categories, views)`` returns the
    results file's ``diagnostics[<name>]`` section and ``rows(total, categories, views)`` the rows
    of ``diagnostics_<name>.csv``.

    ctx:         :class:`ovbench.oracles.context.ImageContext` (raw output, GT, cached pieces)
    predictions: {oracle key: PanopticResult} of the suite's oracles on this image
    matches:     {oracle key: ImageMatch} of those predictions against the GT
    """

    name = "diagnostic"

    def evaluate(self, ctx: Any, predictions: Mapping[str, Any], matches: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def empty(self) -> dict[str, Any]:
        """The neutral element of :meth:`merge`."""
        raise NotImplementedError

    def merge(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def summarize(self, total: dict[str, Any], categories: CategorySet, views: Any) -> dict[str, Any]:
        raise NotImplementedError

    def rows(self, total: dict[str, Any], categories: CategorySet, views: Any) -> list[dict[str, Any]]:
        return []
