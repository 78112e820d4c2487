"""`ovbench submit check FILE_OR_DIR`: check a leaderboard submission (reads files only)."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
FILE_OR_DIR is a results file (leaderboard/results/<name>/<file>.json), a submission's adapter
folder (adapters/<name>/), a results folder, leaderboard/results/, or the repository root.
Every problem found is listed; the exit status is 1 if there is any. Submitted code under
adapters/<name>/ is never imported or executed. See docs/leaderboard.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="Check a leaderboard submission.", description="Check a leaderboard submission.")
    actions = p.add_subparsers(dest="submit_command", metavar="ACTION")
    c = actions.add_parser(
        "check",
        help="validate results files and their submission layout against the published standard",
        description="Validate results files (schema, hashes, consistency) and the submission layout "
        "against the published standard (leaderboard/standards.yaml).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    c.add_argument("--root", help="repository root (default: the folder above FILE_OR_DIR that holds leaderboard/results)")
    c.add_argument("--standards", help="standards file (default: ovbench's leaderboard/standards.yaml)")
    c.set_defaults(func=run_check)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_check(args: argparse.Namespace) -> int:
    from ..submit.check import check_paths

    report = check_paths(args.paths, root=args.root, standards=args.standards)
    print(report.format(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
