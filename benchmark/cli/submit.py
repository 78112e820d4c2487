"""`ovbench submit`: Check a leaderboard submission."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="Check a leaderboard submission.", description="Check a leaderboard submission.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench submit` is not implemented yet")
