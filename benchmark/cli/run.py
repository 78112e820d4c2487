"""`ovbench run`: run an adapter through an oracle suite and write a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .common import (
    adapter_kwargs,
    add_adapter_args,
    add_dataset_args,
    add_quiet_arg,
    add_workers_arg,
    get_dataset,
    load_plugins,
)

HELP = "Run an adapter through the standard oracle suite and write a results file."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=HELP, description=HELP + """

One forward pass per image; every oracle (baseline, oracle classification, oracle mask
selection with and without the no-object logit, + oracle segmentation / classification,
FN_seg / FN_cls) reads the same raw output. Per-image shards make the run resumable: run the
same command again after an interruption. Results: OUT/results.json (+ per_class.csv,
per_image.csv.gz), loadable with ovbench.results.load_results_frames(OUT).""",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_adapter_args(p)
    add_dataset_args(p)
    p.add_argument("--datasets", default=None, metavar="all|A,B|TARGETS",
                   help="run several targets, each into OUT/<dataset>/: 'all' (every catalog dataset), a comma-separated list, "
                        "or a targets YAML (shipped: openvocab); targets without data are skipped with the paths tried")
    p.add_argument("--suite", default="standard", help="suite name or YAML path (default: standard; semantic targets get 'semantic')")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    add_workers_arg(p, "worker processes for the oracles")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="process every N-th image from the I-th (torchrun sets this from RANK/WORLD_SIZE)")
    p.add_argument("--no-resume", action="store_true", help="discard existing shards in OUT and start over")
    p.add_argument("--merge-only", action="store_true", help="only merge the shards of OUT into results (after sharded runs)")
    p.add_argument("--object-mask-threshold", type=float, default=None, help="override the adapter's object_mask_threshold")
    p.add_argument("--overlap-threshold", type=float, default=None, help="override the adapter's overlap_threshold")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard expects I/N (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text}: need 0 <= I < N")
    return i, n


def run(args: argparse.Namespace) -> int:
    load_plugins(args.plugin)
    from ..runner.run import dataset_task, run_suite
    from ..suites.suite import load_suite, suite_for_task

    adapter_args = adapter_kwargs(args)
    if args.datasets is not None:
        from .run_targets import run_many

        return run_many(args, adapter_args)
    requested_suite = load_suite(args.suite)  # a bad suite file is refused before the dataset is looked for
    dataset = get_dataset(args)
    suite = suite_for_task(requested_suite, dataset_task(dataset), requested=args.suite)
    options = run_options(args, adapter_args)
    if args.merge_only:
        from ..runner.run import merge_only

        path: Path | None = merge_only(args.adapter, adapter_args, dataset, suite, options)
    else:
        path = run_suite(args.adapter, adapter_args, dataset, suite, options)
    if path is None:
        return 0
    from ..runner.report import print_oracle_table

    print_oracle_table(path)
    print(f"results: {path}")
    return 0


def run_options(args: argparse.Namespace, adapter_args: dict[str, Any]) -> Any:
    """The RunOptions of the command line (output folder, workers, shard, resume, threshold overrides)."""
    from ..runner.run import RunOptions

    inference = None
    if args.object_mask_threshold is not None or args.overlap_threshold is not None:
        from ovbench.adapters import get_adapter

        from ..inference.mask2former import InferenceConfig

        base = get_adapter(args.adapter, **adapter_args).info.inference
        inference = InferenceConfig(
            base.object_mask_threshold if args.object_mask_threshold is None else args.object_mask_threshold,
            base.overlap_threshold if args.overlap_threshold is None else args.overlap_threshold,
            base.prob_eps,
        )
    return RunOptions(out_dir=args.out, workers=args.workers, shard=parse_shard(args.shard), limit=args.limit,
                      resume=not args.no_resume, progress=not args.quiet, inference=inference)
