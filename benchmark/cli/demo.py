"""`ovbench demo`: Run the whole workflow on a synthetic dataset (CPU, no downloads)."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="Run the whole workflow on a synthetic dataset (CPU, no downloads).", description="Run the whole workflow on a synthetic dataset (CPU, no downloads).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench demo` is not implemented yet")
