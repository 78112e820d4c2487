"""`ovbench taxonomy`: Query, export and check the COCO <-> ADE20K taxonomy graph."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("taxonomy", help="Query, export and check the COCO <-> ADE20K taxonomy graph.", description="Query, export and check the COCO <-> ADE20K taxonomy graph.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench taxonomy` is not implemented yet")
