"""Errors of the leaderboard builder."""

from __future__ import annotations

from ..errors import OvbenchError


class BuildError(OvbenchError):
    """The site cannot be built (missing input, malformed section, unknown column, unsafe output folder)."""
