"""The ``ovbench`` command line. Parsing only: each sub-command lives in its own module with a
``register(subparsers)`` function that adds its parser and sets ``func(args) -> int``.

Command modules are imported when the parser is built, so they must not import heavy
dependencies (torch, open_clip, detectron2) at module level.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import OvbenchError

# (module, one-line summary) in the order of the workflow
COMMANDS: list[str] = [
    "demo",  # the whole workflow on a synthetic dataset
    "generate",  # synthetic dataset in the ADE20K / COCO panoptic layout
    "pq",  # panopticapi-compatible PQ of a prediction JSON + PNG folder
    "run",  # adapter -> standard oracle suite -> results file
    "dump",  # write raw outputs of an adapter to disk
    "vlm_oracle",  # zero-shot VLM segmentation oracle (Table 1)
    "taxonomy",  # the COCO <-> ADE20K taxonomy graph
    "submit",  # submission check
    "leaderboard",  # static leaderboard site
    "ls",  # list adapters, oracles, datasets, suites
]

DESCRIPTION = """\
ovbench tells you *why* an open-vocabulary panoptic segmenter fails, not only how much.
It runs the oracle analysis of "What Holds Back Open-Vocabulary Segmentation?" (Saric et al.)
on any mask-based model: one forward pass per image, then baseline PQ, oracle classification,
oracle mask selection (with and without the no-object logit), selection + oracle segmentation
/ classification, per-class TP / FN_seg / FN_cls, the zero-shot VLM oracle, and PQ under
label-taxonomy conflicts.

Start with `ovbench demo`: it runs the whole workflow on a small synthetic dataset, on CPU.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovbench", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"ovbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except OvbenchError as exc:
        print(f"ovbench {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f" writing {exc.filename}" if exc.filename else ""
        print(f"ovbench {args.command}: error: no space left on the device{where}: free some space and run again", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ovbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
