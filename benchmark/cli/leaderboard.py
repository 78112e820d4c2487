"""`ovbench leaderboard`: Build the static leaderboard site."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="Build the static leaderboard site.", description="Build the static leaderboard site.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench leaderboard` is not implemented yet")
