"""`ovbench ls`: list adapters, oracles, datasets and suites."""

from __future__ import annotations

import argparse

HELP = "List adapters, oracles, datasets and suites."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ls", help=HELP, description=HELP + " `ls oracles` lists the rows a results file reports "
                       "(the suite's oracle keys, each an oracle function with parameters).")
    p.add_argument("what", choices=["adapters", "oracles", "datasets", "suites"], help="what to list")
    p.add_argument("--suite", default="standard", help="suite whose oracle rows `ls oracles` lists (default: standard)")
    p.set_defaults(func=run)


def oracle_rows(suite_name: str) -> list[str]:
    """One line per oracle row of the suite: key, oracle function(params), paper table, title."""
    from ..suites.suite import load_suite

    suite = load_suite(suite_name)
    width = max(len(o.key) for o in suite.oracles)
    lines = []
    for o in suite.oracles:
        params = ", ".join(f"{k}={v}" for k, v in sorted(o.params.items()))
        table = f"Table {o.paper_table}" if o.paper_table else ""
        lines.append(f"{o.key:<{width}}  {o.oracle}({params})  {table}  {o.title}".rstrip())
    return lines


def run(args: argparse.Namespace) -> int:
    if args.what == "oracles":
        for line in oracle_rows(args.suite):
            print(line)
        return 0
    if args.what == "adapters":
        from ovbench.adapters import ADAPTERS

        names = ADAPTERS.names()
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
