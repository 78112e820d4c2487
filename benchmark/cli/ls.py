"""`ovbench ls`: List adapters, oracles, datasets and suites."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ls", help="List adapters, oracles, datasets and suites.", description="List adapters, oracles, datasets and suites.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench ls` is not implemented yet")
