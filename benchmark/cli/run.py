"""`ovbench run`: Run an adapter through the standard oracle suite and write a results file."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="Run an adapter through the standard oracle suite and write a results file.", description="Run an adapter through the standard oracle suite and write a results file.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench run` is not implemented yet")
