"""`ovbench run --datasets ...`: one adapter on several targets (helper of cli/run.py, not a command)."""

from __future__ import annotations

import argparse
from typing import Any


def run_many(args: argparse.Namespace, adapter_args: dict[str, Any]) -> int:
    """Run every target of ``--datasets``; print one line per target and each oracle table.
    Exit status 1 when no target ran (every one skipped), else 0."""
    from ..runner.report import print_oracle_table
    from ..runner.targets import TARGETS_FILE, parse_targets, run_targets
    from .run import run_options

    targets = parse_targets(args.datasets)
    outcomes = run_targets(args.adapter, adapter_args, targets, run_options(args, adapter_args), suite=args.suite,
                           root=args.dataset_root, merge_only=args.merge_only)
    for o in outcomes:
        if o.results is not None:
            print()
            print_oracle_table(o.results)
    print()
    print(f"{'target':<32} {'task':<9} {'status':<8} where")
    for o in outcomes:
        where = o.results if o.results is not None else (o.out_dir if o.status == "pending" else "data not found (paths tried above)")
        print(f"{o.dataset:<32} {o.task or '-':<9} {o.status:<8} {where}")
    print(f"summary: {args.out / TARGETS_FILE}")
    if not any(o.status in ("ran", "pending") for o in outcomes):
        print(f"ovbench run: error: none of the {len(outcomes)} targets has data on disk; nothing ran "
              "(set --dataset-root, $OVBENCH_DATASETS or $DETECTRON2_DATASETS; see docs/datasets.md)")
        return 1
    return 0
