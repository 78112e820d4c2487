"""`ovbench dump`: write an adapter's raw outputs to disk (replay them with --adapter dump)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import (
    adapter_kwargs,
    add_adapter_args,
    add_dataset_args,
    add_quiet_arg,
    get_dataset,
    load_plugins,
)

HELP = "Write an adapter's raw outputs to disk (replay them with --adapter dump)."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dump", help=HELP, description=HELP + """

Run the model where it runs (e.g. a GPU machine with detectron2), keep one .npz per image,
evaluate anywhere later: `ovbench run --adapter dump --adapter-arg path=DIR ...`. Existing
files are kept, so an interrupted dump resumes. Format: see docs/writing-an-adapter.md.""",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_adapter_args(p)
    add_dataset_args(p)
    p.add_argument("--out", required=True, type=Path, help="dump folder")
    p.add_argument("--dtype", choices=["float16", "float32"], default="float16", help="storage type of mask logits (default float16: half the size)")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    load_plugins(args.plugin)
    from tqdm import tqdm

    from ovbench.adapters import get_adapter

    from ..raw.record import validate_raw_output
    from ..raw.store import dump_path, write_manifest, write_raw

    dataset = get_dataset(args)
    adapter = get_adapter(args.adapter, **adapter_kwargs(args))
    adapter.setup(dataset.categories)
    info = adapter.info.to_json()
    write_manifest(args.out, info, args.dtype, [int(i) for i in dataset.categories.ids])
    ids = dataset.image_ids()[: args.limit] if args.limit else dataset.image_ids()
    todo = [i for i in ids if not dump_path(args.out, i).exists()]
    for image_id in tqdm(todo, unit="img", desc="ovbench dump", disable=args.quiet):
        raw = validate_raw_output(adapter.predict(dataset.sample(image_id)), adapter=args.adapter, num_classes=len(dataset.categories))
        write_raw(args.out, raw, args.dtype)
    adapter.close()
    print(f"dumped {len(todo)} images ({len(ids) - len(todo)} already there) to {args.out}")
    return 0
