"""`ovbench vlm-oracle`: Zero-shot VLM segmentation oracle (Table 1) with an open_clip model."""

from __future__ import annotations

import argparse

from ..errors import OvbenchError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vlm-oracle", help="Zero-shot VLM segmentation oracle (Table 1) with an open_clip model.", description="Zero-shot VLM segmentation oracle (Table 1) with an open_clip model.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise OvbenchError("`ovbench vlm-oracle` is not implemented yet")
