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
                   help="results folder or file; repeatable (default: leaderboard/results when it holds results files)")
    b.add_argument("--out", default="site", metavar="SITE", help="output folder, replaced if it is an ovbench site (default: site)")
    b.add_argument("--standards", default=None, metavar="YAML",
                   help="standards file whose published annotation hashes decide each result's dataset"
                        " (default: ovbench's leaderboard/standards.yaml)")
    b.set_defaults(func=run_build)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


DEFAULT_RESULTS = Path("leaderboard") / "results"


def default_results() -> list[str]:
    """The published results folder when it holds results files, else a usage error."""
    from ..errors import ConfigError
    from ..results.io import find_results_files

    if DEFAULT_RESULTS.is_dir() and find_results_files(DEFAULT_RESULTS):
        return [str(DEFAULT_RESULTS)]
    raise ConfigError(f"no --results given and ./{DEFAULT_RESULTS} holds no results files (none are published yet); "
                      "usage: ovbench leaderboard build --results RUN_DIR [--results ...] [--out SITE], "
                      "where RUN_DIR is the --out folder of `ovbench run`")


def run_build(args: argparse.Namespace) -> int:
    from ..leaderboard.build import build_site

    results = args.results or default_results()
    report = build_site(results, args.out, standards=args.standards)
    print(f"built {len(report.pages)} page(s) from {len(report.entries)} results file(s): {report.index}")
    for note in report.notes:
        print(f"note: {note}")
    return 0
