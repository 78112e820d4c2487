"""`ovbench dump`: Write an adapter's raw outputs to disk (replay them with --adapter dump)."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dump", help="Write an adapter's raw outputs to disk (replay them with --adapter dump).", description="Write an adapter's raw outputs to disk (replay them with --adapter dump).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench dump` is not implemented yet")
