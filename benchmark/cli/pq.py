"""`ovbench pq`: PQ of a COCO-panoptic prediction (drop-in for panopticapi's pq_compute)."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pq", help="PQ of a COCO-panoptic prediction (drop-in for panopticapi's pq_compute).", description="PQ of a COCO-panoptic prediction (drop-in for panopticapi's pq_compute).")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench pq` is not implemented yet")
