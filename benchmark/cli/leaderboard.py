"""`ovbench leaderboard build`: render the static leaderboard site from results files."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
The site (index, one page per results file, taxonomy conflicts, plots, and every number as
JSON/CSV) uses relative links only: open SITE/index.html from disk or copy SITE to any static
host. Results that fail schema validation, or hold an oracle/metric missing from
leaderboard/columns.yaml, stop the build with the file and the fix. See docs/leaderboard.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="Build the static leaderboard site.", description="Build the static leaderboard site.")
    actions = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    b = actions.add_parser(
        "build",
        help="render the static site from results files",
        description="Render the static leaderboard site from results files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--results", action="append", metavar="DIR_OR_FILE",
                   help="results folder or file; repeatable (default: leaderboard/results)")
    b.add_argument("--out", default="site", metavar="SITE", help="output folder, replaced if it is an ovbench site (default: site)")
    b.add_argument("--standards", default=None, metavar="YAML",
                   help="standards file whose published annotation hashes decide each result's dataset"
                        " (default: ovbench's leaderboard/standards.yaml)")
    b.set_defaults(func=run_build)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    from ..leaderboard.build import build_site

    results = args.results or [str(Path("leaderboard") / "results")]
    report = build_site(results, args.out, standards=args.standards)
    print(f"built {len(report.pages)} page(s) from {len(report.entries)} results file(s): {report.index}")
    for note in report.notes:
        print(f"note: {note}")
    return 0
