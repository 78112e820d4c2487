"""`ovbench ls`: list adapters, oracles, datasets and suites."""

from __future__ import annotations

import argparse

HELP = "List adapters, oracles, datasets and suites."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ls", help=HELP, description=HELP)
    p.add_argument("what", choices=["adapters", "oracles", "datasets", "suites"], help="what to list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.what == "adapters":
        from ovbench.adapters import ADAPTERS

        names = ADAPTERS.names()
    elif args.what == "oracles":
        from ..oracles import ORACLES

        names = ORACLES.names()
    elif args.what == "datasets":
        from ..data.catalog import DATASETS

        rows = [DATASETS.get(n) for n in DATASETS.names()]
        width = max(len(r.name) for r in rows)
        for r in rows:
            print(f"{r.name:<{width}}  {r.task:<8}  {r.num_classes:>4} classes  {r.class_list}")
        return 0
    else:
        from ..suites.suite import suite_dir

        names = sorted(p.stem for p in suite_dir().glob("*.yaml"))
    for n in names:
        print(n)
    return 0
