"""`ovbench generate`: Generate a synthetic panoptic dataset in the ADE20K / COCO layout."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="Generate a synthetic panoptic dataset in the ADE20K / COCO layout.", description="Generate a synthetic panoptic dataset in the ADE20K / COCO layout.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench generate` is not implemented yet")
