"""Build the static leaderboard site from results files (``ovbench leaderboard build``).

Site layout (all links relative, so it works from ``file://`` and any static host)::

    index.html                  ranked tables per (dataset, suite) + Fig. 1-style plot + the paper's tables
    taxonomy.html               annotation-policy conflicts + their PQ in every results file
    models/<slug>.html          one page per results file: waterfall, oracle table, per-class, conflicts, overlays,
                                diagnostics (:mod:`.diagnostics`)
    models/<slug>/...           its waterfall SVG, diagnostics SVGs (diag_*.svg) and overlay images
    plots/*.svg                 PQ-over-time plots
    static/style.css, sort.js   no CDN, no framework
    data/                       every number as JSON/CSV: leaderboard.{csv,json}, <slug>/{results.json,
                                summary.csv,per_class.csv,fn_breakdown.csv,diagnostics_<name>.csv},
                                paper_tables.json, taxonomy_policies.json
    ovbench-site.json           build manifest (marks the folder as a site that may be rebuilt)

Nothing is rendered from a results file that failed validation, an oracle, split or metric
without an entry in ``columns.yaml`` stops the build (no silent empty columns), and so does a
malformed diagnostics section (:mod:`.diagnostic_checks`).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ConfigError, SchemaError
from ..results.frames import frames_from_doc, summary_rows
from ..results.io import find_results_files, load_results
from .config import Columns, Reference, check_known, load_columns, load_reference, metric_cell, package_file
from .datasets import DatasetIdentity, identify
from .diagnostics import (
    check_diagnostic_columns,
    check_diagnostics,
    diagnostics_context,
    diagnostics_csv_texts,
    diagnostics_data_files,
)
from .errors import BuildError
from .plots import TimelinePoint, timeline_svg, waterfall_svg
from .policies import Policy, graph_policies, normalise_policies
from .targets import (
    dataset_pages,
    dataset_slug,
    matrix_context,
    miou_waterfall_view,
    model_datasets,
    semantic_groups,
    semantic_model_context,
    task_of,
)

SITE_MARKER = "ovbench-site.json"
CONFLICT_VIEW_METRICS = ("pq", "sq", "rq", "n")


@dataclass
class Entry:
    """One results file on the site."""

    path: Path
    doc: dict[str, Any]
    slug: str = ""
    identity: DatasetIdentity | None = None  # set by build_site from the annotation hash (:mod:`.datasets`)

    @property
    def ident(self) -> DatasetIdentity:
        return self.identity if self.identity is not None else identify(self.doc, {})

    @property
    def group_key(self) -> tuple[str, str, str, str, str]:
        """Results are ranked together only on the same annotations with the same suite; the dataset
        is the one the annotation hash identifies, never the recorded name alone."""
        d = self.doc
        return (self.ident.key, d["dataset"]["annotation_sha256"], d["suite"]["name"], d["suite"]["version"],
                d["suite"]["sha256"])


@dataclass
class BuildReport:
    """What the build wrote."""

    out: Path
    entries: list[Entry] = field(default_factory=list)
    pages: list[Path] = field(default_factory=list)
    data_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.out / "index.html"


# ---- inputs ---------------------------------------------------------------------------------------------
def collect_results(results: str | Path | Sequence[str | Path], exclude: Iterable[Path] = ()) -> list[Entry]:
    """Load (migrate + validate) every results file named by `results`: files, or folders searched
    for ``*.json`` files with ``"kind": "ovbench-results"``. Errors name the file."""
    items = [results] if isinstance(results, (str, Path)) else list(results)
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_file():
            paths.append(p)
        elif p.is_dir():
            paths += find_results_files(p, exclude=exclude)
        else:
            raise BuildError(f"{p}: no such file or folder (pass --results DIR with results written by `ovbench run --out DIR`)")
    if not paths:
        raise BuildError(f"no results files found in {', '.join(map(str, items))}: expected *.json files with"
                         " \"kind\": \"ovbench-results\" (run `ovbench run ... --out DIR` or `ovbench demo` first);"
                         " refusing to build an empty leaderboard")
    entries = []
    for p in sorted(set(paths)):
        try:
            entries.append(Entry(p, load_results(p, validate=True)))
        except SchemaError as exc:
            raise BuildError(str(exc) if str(p) in str(exc) else f"{p}: {exc}") from None
    return entries


def check_consistency(entries: Sequence[Entry]) -> None:
    """``submit check``'s rules 1 (consistency) and 4 (duplicates): a stored summary that disagrees
    with the file's own per-class rows, or the same results twice, stops the build."""
    from ..submit.check import consistency_problems, duplicate_problems

    problems = [f"{e.path}: {p}" for e in entries for p in consistency_problems(e.doc)]
    problems += duplicate_problems({e.path: e.doc for e in entries})
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise BuildError(f"{len(problems)} results file problem(s) (run `ovbench submit check` on them): {shown}")


def assign_slugs(entries: Sequence[Entry]) -> None:
    """Unique, URL-safe page names: the adapter name, qualified by dataset/suite when needed."""
    def clean(s: str) -> str:
        return re.sub(r"[^a-z0-9_-]+", "-", s.lower()).strip("-") or "model"

    counts: dict[str, int] = defaultdict(int)
    for e in entries:
        counts[clean(e.doc["model"]["adapter"])] += 1
    used: set[str] = set()
    for e in entries:
        d = e.doc
        base = clean(d["model"]["adapter"])
        if counts[base] > 1:
            base = clean(f"{base}-{d['dataset']['name']}-{d['suite']['name']}-v{d['suite']['version']}")
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        e.slug = slug


# ---- helpers for templates ------------------------------------------------------------------------------
def safe_url(url: Any) -> str | None:
    """Only absolute http(s) URLs become links (never javascript:, data:, relative paths)."""
    if isinstance(url, str) and re.match(r"^https?://[^\s<>\"']+$", url):
        return url
    return None


def _paper_values(ref_model: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (ref_model or {}).get("oracles", {})


# ---- page contexts ----------------------------------------------------------------------------------------
def index_groups(entries: Sequence[Entry], columns: Columns, reference: Reference, site: Path,
                 reference_dataset: str) -> list[dict[str, Any]]:
    """One ranked table (and PQ-over-time plot) per (dataset, suite)."""
    by_group: dict[tuple[str, str, str, str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        by_group[e.group_key].append(e)
    groups = []
    for gi, (key, members) in enumerate(sorted(by_group.items())):
        _, annotations, suite, version, sha = key
        ident = members[0].ident
        dataset = ident.label

        def base_pq(e: Entry) -> float:
            st = e.doc["oracles"].get("baseline", {}).get("splits", {}).get("all")
            return st["pq"] if st and st["pq"] is not None else -1.0

        members = sorted(members, key=lambda e: (-base_pq(e), e.doc["model"]["name"]))
        cols = []
        for c in columns.index_columns:
            o, s, mt = columns.oracle(c["oracle"]), columns.split(c["split"]), columns.metric(c["metric"])
            cols.append({"label": f"{mt['display']} {s['display']}", "sub": str(o.get("short", c["oracle"])),
                         "title": f"{mt['display']} ({s['display']}) of {o['display']}: {o['description']}",
                         "group": o.get("group")})
        rows = []
        for e in members:
            cells = []
            for c in columns.index_columns:
                st = e.doc["oracles"].get(c["oracle"], {}).get("splits", {}).get(c["split"])
                value = st.get(c["metric"]) if st else None
                ci = st.get("pq_ci95") if st and c["metric"] == "pq" else None
                cell = metric_cell(columns, c["metric"], value, ci)
                cell["ci"] = None  # the index shows CIs as tooltips only
                if st is None:
                    cell["title"] = f"not in this results file ({c['oracle']} / {c['split']})"
                cells.append(cell)
            m = e.doc["model"]
            rows.append({"name": m["name"], "kind": m["kind"], "release_date": m["release_date"],
                         "page": f"models/{e.slug}.html", "cells": cells})
        timeline, notes, paper_points = None, [], False
        points = []
        for e in members:
            m, st = e.doc["model"], e.doc["oracles"].get("baseline", {}).get("splits", {}).get("all")
            if m["release_date"] and st and st["pq"] is not None:
                ci = st.get("pq_ci95")
                points.append(TimelinePoint(m["name"], _dt.date.fromisoformat(m["release_date"]), st["pq"] * 100, "ovbench",
                                            m["kind"], (ci[0] * 100, ci[1] * 100) if ci else None))
        undated = [e.doc["model"]["name"] for e in members if not e.doc["model"]["release_date"]]
        if undated:
            notes.append(f"Not in the PQ-over-time plot (no model.release_date): {', '.join(undated)}.")
        if ident.official and ident.dataset == reference_dataset and any(e.doc["model"]["kind"] != "simulated" for e in members):
            for rm in reference.models.values():
                base = _paper_values(rm).get("baseline", {}).get("all")
                if base is not None and rm.get("release_date"):
                    points.append(TimelinePoint(f"{rm['name']} (paper)", _dt.date.fromisoformat(str(rm["release_date"])),
                                                float(base), "paper"))
                    paper_points = True
        if points:
            rel = f"plots/pq_over_time_{gi + 1}.svg"
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(timeline_svg(points, f"Baseline PQ over time · {dataset}"), encoding="utf-8")
            timeline = rel
        if ident.note:
            claimed = sorted({e.doc["dataset"]["name"] for e in members})
            notes.insert(0, ident.note.replace(repr(ident.claimed), ", ".join(map(repr, claimed))))
        groups.append({"dataset": dataset, "verified": ident.official, "annotation_sha256": annotations, "suite": suite, "suite_version": version, "suite_sha256": sha,
                       "anchor": f"group-{gi + 1}", "columns": cols, "rows": rows, "timeline": timeline,
                       "notes": notes, "paper_points": paper_points})
    return groups


def model_context(e: Entry, columns: Columns, reference: Reference, site: Path) -> dict[str, Any]:
    """Everything model.html shows for one results file (also writes its waterfall and overlays)."""
    d = e.doc
    model = d["model"]
    asset_dir = site / "models" / e.slug
    asset_dir.mkdir(parents=True, exist_ok=True)
    official = e.ident.official and e.ident.dataset == reference.dataset  # by annotation hash, not by name
    ref_model = reference.match(model["name"], model["adapter"]) if official else None
    (asset_dir / "waterfall.svg").write_text(waterfall_svg(d, columns, ref_model), encoding="utf-8")

    split_keys = [s for s in ("all", "things", "stuff", "seen", "unseen") if any(s in o["splits"] for o in d["oracles"].values())]
    oracle_rows = []
    for key in [k for k in columns.oracles if k in d["oracles"]]:
        o, meta = d["oracles"][key], columns.oracle(key)
        cells = []
        for s in split_keys:
            st = o["splits"].get(s)
            cells.append(metric_cell(columns, "pq", st["pq"] if st else None, st.get("pq_ci95") if st else None))
        al = o["splits"]["all"]
        cells += [metric_cell(columns, "sq", al["sq"]), metric_cell(columns, "rq", al["rq"]),
                  metric_cell(columns, "n", al["n"]), metric_cell(columns, "miou", o.get("miou"))]
        oracle_rows.append({"display": meta["display"], "description": meta["description"],
                            "paper_table": o.get("paper_table") or meta.get("paper_table"), "cells": cells})

    paper_rows = []
    for key, vals in _paper_values(ref_model).items():
        if key not in d["oracles"]:
            continue
        pc = []
        for s in ("all", "seen", "unseen"):
            st = d["oracles"][key]["splits"].get(s)
            pc.append({"ours": columns.format("pq", st["pq"] if st else None),
                       "paper": "—" if vals.get(s) is None else f"{float(vals[s]):.1f}"})
        paper_rows.append({"display": columns.oracle(key)["display"], "cells": pc})

    fn_oracle = "baseline"
    fn_rows = {r["category_id"]: r for r in d.get("fn_breakdown", []) if r.get("oracle", "baseline") == fn_oracle}
    pc_oracle = fn_oracle if fn_oracle in d["oracles"] else next(iter(d["oracles"]))
    yes = {True: "yes", False: "no", None: "—"}
    class_rows = []
    for r in d["per_class"]:
        if r["oracle"] != pc_oracle or r.get("view", "standard") != "standard":
            continue
        fn = fn_rows.get(r["category_id"], {})
        class_rows.append({"name": r["name"], "category_id": r["category_id"], "isthing": yes[r["isthing"]],
                           "seen": yes[r.get("seen")], "conflict": yes[r.get("conflict")], "tp": r["tp"], "fp": r["fp"],
                           "fn": r["fn"], "fn_seg": fn.get("fn_seg", "—"), "fn_cls": fn.get("fn_cls", "—"),
                           "pq": metric_cell(columns, "pq", r["pq"])})

    conflict_sections = []
    for okey, sec in (d.get("conflict_pq") or {}).items():
        views = [{"name": v, "cells": [metric_cell(columns, m, st.get(m)) for m in CONFLICT_VIEW_METRICS]}
                 for v, st in (sec.get("views") or {}).items()]
        harm_splits = sorted({s for sp in (sec.get("harmonised") or {}).values() for s in sp},
                             key=lambda s: ("all", "things", "stuff", "seen", "unseen").index(s))
        harmonised = [{"name": h, "cells": [metric_cell(columns, "pq", (sp.get(s) or {}).get("pq")) for s in harm_splits]}
                      for h, sp in (sec.get("harmonised") or {}).items()]
        per_conflict = [{"policy": r["policy"], "anchor": re.sub(r"[^a-z0-9_-]+", "-", r["policy"].lower()),
                         "classes": ", ".join(str(c) for c in r["classes"]),
                         "pq": metric_cell(columns, "pq", r.get("pq")), "pq_harmonised": metric_cell(columns, "pq", r.get("pq_harmonised"))}
                        for r in sec.get("per_conflict") or []]
        conflict_sections.append({"display": columns.oracle(okey)["display"], "views": views, "harm_splits": harm_splits,
                                  "harmonised": harmonised, "per_conflict": per_conflict})

    overlays, roles = copy_overlays(e, asset_dir)
    return {
        "model": model, "dataset": d["dataset"], "suite": d["suite"], "taxonomy": d["taxonomy"],
        "created": d["created"], "ovbench_run_version": d["ovbench_version"],
        "links": {"paper": safe_url(model["paper"]), "code": safe_url(model["code"])},
        "waterfall": f"{e.slug}/waterfall.svg",
        "paper_match": ref_model["name"] if ref_model else None,
        "split_headers": [{"label": columns.split(s)["display"], "title": columns.split(s)["description"]} for s in split_keys],
        "metric_titles": {k: v["description"] for k, v in columns.metrics.items()},
        "oracle_rows": oracle_rows, "paper_rows": paper_rows,
        "semantic_inference_miou": _semantic_inference_miou(d, columns),
        "per_class_oracle": columns.oracle(pc_oracle)["display"], "has_fn_breakdown": bool(fn_rows), "class_rows": class_rows,
        "conflict_sections": conflict_sections, "overlays": overlays,
        "overlay_roles": [{"key": r, "label": role_label(r, columns)} for r in roles],
        "diagnostics": diagnostics_context(e.path, d, columns, asset_dir, e.slug),
        "data_links": [{"href": f"../data/{e.slug}/{n}", "label": n}
                       for n in ("results.json", "summary.csv", "per_class.csv", "fn_breakdown.csv",
                                 *diagnostics_data_files(d))],
    }


def copy_overlays(e: Entry, asset_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy the overlay images of a results file next to its page, under safe names."""
    overlays, roles = [], []
    src_root = e.path.parent.resolve()
    for i, ov in enumerate(e.doc.get("overlays", [])):
        files = {}
        for role, rel in ov["files"].items():
            src = (src_root / rel).resolve()
            if not src.is_relative_to(src_root):
                raise BuildError(f"{e.path}: $.overlays[{i}].files.{role}: {rel} points outside the results folder")
            if not src.is_file():
                raise BuildError(f"{e.path}: $.overlays[{i}].files.{role}: overlay image {src} does not exist"
                                 " (copy the results folder with its overlays/ subfolder)")
            name = f"overlays/{i:03d}_{role}{src.suffix.lower()}"
            (asset_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, asset_dir / name)
            files[role] = f"{e.slug}/{name}"
            if role not in roles:
                roles.append(role)
        overlays.append({"image_id": ov["image_id"], "caption": ov.get("caption"), "files": files})
    order = ["image", "gt", *[k for k in ("baseline", "oracle_cls", "select", "select_no_void", "select_no_void_seg",
                                        "select_no_void_cls") if k in roles]]
    return overlays, order + sorted(r for r in roles if r not in order)


def role_label(role: str, columns: Columns) -> str:
    """Overlay column heading: 'image', 'ground truth', or the oracle's display name."""
    return {"image": "image", "gt": "ground truth"}.get(role) or str(columns.oracles.get(role, {}).get("display", role))


def taxonomy_context(policies: list[Policy] | None, unavailable: str, entries: Sequence[Entry], columns: Columns
                     ) -> dict[str, Any]:
    models, cells_by_policy = [], defaultdict(list)
    for e in entries:
        sec = (e.doc.get("conflict_pq") or {}).get("baseline")
        if not sec:
            continue
        by_id = {r["policy"]: r for r in sec.get("per_conflict") or []}
        if not set(by_id) & {p.id for p in policies or []}:
            continue  # this results file reports none of these conflicts (another taxonomy or dataset)
        models.append({"name": e.doc["model"]["name"],
                       "title": f"Baseline PQ of the conflict's classes: {e.doc['model']['name']} on {e.doc['dataset']['name']}"})
        for p in policies or []:
            cells_by_policy[p.id].append(metric_cell(columns, "pq", by_id.get(p.id, {}).get("pq")))
    rows = [{"id": p.id, "kind": p.kind, "summary": p.summary, "evaluation": p.evaluation, "sources": p.sources,
             "annotates": p.annotates,
             "anchor": p.anchor, "nodes": [{"key": k, "label": label} for k, label in p.nodes],
             "cells": cells_by_policy.get(p.id, [])} for p in policies or []]
    return {"policies": rows if policies is not None else None, "unavailable": unavailable, "models": models}


# ---- data files -------------------------------------------------------------------------------------------
def write_data_files(entries: Sequence[Entry], site: Path, reference: Reference, policies: list[Policy] | None) -> list[Path]:
    import pandas as pd

    data = site / "data"
    written = []

    def put(rel: str, text: str) -> None:
        p = data / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        written.append(p)

    all_rows = []
    for e in entries:
        fr = frames_from_doc(e.doc)
        put(f"{e.slug}/results.json", json.dumps(e.doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
        put(f"{e.slug}/summary.csv", fr["summary"].to_csv(index=False))
        put(f"{e.slug}/per_class.csv", fr["per_class"].to_csv(index=False))
        put(f"{e.slug}/fn_breakdown.csv", fr["fn_breakdown"].to_csv(index=False))
        if e.doc.get("per_class_semantic"):
            put(f"{e.slug}/per_class_semantic.csv", fr["per_class_semantic"].to_csv(index=False))
        for name, text in diagnostics_csv_texts(e.doc).items():
            put(f"{e.slug}/{name}", text)
        per_image = e.path.parent / "per_image.csv.gz"
        if e.path.name == "results.json" and per_image.is_file():
            (data / e.slug).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(per_image, data / e.slug / "per_image.csv.gz")
            written.append(data / e.slug / "per_image.csv.gz")
        all_rows += [{**r, "page": f"models/{e.slug}.html"} for r in summary_rows(e.doc)]
    put("leaderboard.csv", pd.DataFrame(all_rows).to_csv(index=False))
    put("leaderboard.json", json.dumps(all_rows, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    put("paper_tables.json", json.dumps({"label": reference.label, "source": reference.source, "models": reference.models,
                                         "tables": list(reference.tables)}, indent=1, ensure_ascii=False, default=str) + "\n")
    if policies is not None:
        put("taxonomy_policies.json", json.dumps([p.to_json() for p in policies], indent=1, ensure_ascii=False) + "\n")
    return written


# ---- rendering ---------------------------------------------------------------------------------------------
def environment(templates: Path | None = None) -> Any:
    import jinja2

    loader = jinja2.FileSystemLoader(str(templates or package_file("templates")))
    # autoescape for every template (all are HTML); undefined names are errors, not blanks
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _prepare_out(out: Path) -> Path:
    """A fresh temporary folder beside `out`; refuse to replace a folder that is not an ovbench site."""
    if out.exists():
        if not out.is_dir():
            raise BuildError(f"{out} exists and is not a folder")
        if any(out.iterdir()) and not (out / SITE_MARKER).is_file():
            raise BuildError(f"{out} is not empty and is not an ovbench site (no {SITE_MARKER}): refusing to overwrite it;"
                             " pass another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))


def _semantic_inference_miou(doc: Mapping[str, Any], columns: Columns) -> str | None:
    """mIoU of Mask2Former's semantic inference of the baseline (present when the suite enables it)."""
    for o in doc["oracles"].values():
        if o.get("miou_semantic_inference") is not None:
            return columns.format("miou_semantic_inference", o["miou_semantic_inference"])
    return None


def semantic_model_page(e: Entry, entries: Sequence[Entry], columns: Columns, site: Path) -> dict[str, Any]:
    """Context of model_semantic.html: a semantic target's results file (mIoU only; writes its waterfall)."""
    d = e.doc
    asset_dir = site / "models" / e.slug
    asset_dir.mkdir(parents=True, exist_ok=True)
    (asset_dir / "waterfall.svg").write_text(waterfall_svg(miou_waterfall_view(d), columns, None, metric="mIoU"), encoding="utf-8")
    return {"root": "../", "page": "model", "model": d["model"], "dataset": d["dataset"], "suite": d["suite"],
            "taxonomy": d["taxonomy"], "created": d["created"], "ovbench_run_version": d["ovbench_version"],
            "waterfall": f"{e.slug}/waterfall.svg",
            "dataset_page": f"../datasets/{dataset_slug((d['dataset']['name'], d['dataset']['annotation_sha256']))}.html",
            "model_datasets": model_datasets(e, entries, columns), **semantic_model_context(d, columns),
            "data_links": [{"href": f"../data/{e.slug}/{n}", "label": n}
                           for n in ("results.json", "summary.csv", "per_class_semantic.csv", "fn_breakdown.csv")]}


def build_site(results: str | Path | Sequence[str | Path], out: str | Path, *,
               columns: Columns | str | Path | None = None, reference: Reference | str | Path | None = None,
               policies: Iterable[Any] | None = None, templates: Path | None = None,
               standards: Any = None) -> BuildReport:
    """Render the site from the results files named by `results` into `out` (replaced atomically).

    `policies`: policy conflicts for the taxonomy page (mappings or objects, see
    :mod:`ovbench.leaderboard.policies`); default: the shipped taxonomy graph, if installed.
    `standards`: a :class:`~ovbench.submit.check.Standards` or the path of a standards file (default:
    the shipped ``standards.yaml``): its published annotation hashes decide which dataset each
    results file is ranked under (:mod:`.datasets`).

    Every results file must pass ``submit check``'s consistency rules (aggregates recomputed from
    the per-class rows) and no two may be duplicates; otherwise the build stops naming them.
    """
    out = Path(out).resolve()
    cols = columns if isinstance(columns, Columns) else load_columns(columns)
    ref = reference if isinstance(reference, Reference) else load_reference(reference)
    from ..submit.check import Standards, load_standards

    std = standards if isinstance(standards, Standards) else load_standards(standards)
    entries = collect_results(results, exclude=[out])
    check_consistency(entries)
    for e in entries:
        e.identity = identify(e.doc, std.datasets)
    for e in entries:
        check_known(e.doc, cols, str(e.path))
        check_diagnostic_columns(e.doc, cols, str(e.path))
        check_diagnostics(e.path, e.doc)  # malformed diagnostics stop the build before anything is written
    assign_slugs(entries)
    if policies is None:
        pols, unavailable = graph_policies()
    else:
        pols, unavailable = normalise_policies(policies), ""

    tmp = _prepare_out(out)
    report = BuildReport(out=out, entries=entries)
    try:
        env = environment(templates)
        common = {"ovbench_version": __version__, "n_results": len(entries)}
        for name in ("style.css", "sort.js"):
            src = package_file("static", name)
            if not src.is_file():
                raise BuildError(f"static file {src} is missing from the installed package (ovbench.leaderboard static/*)")
            (tmp / "static").mkdir(exist_ok=True)
            shutil.copyfile(src, tmp / "static" / name)

        def render(template: str, rel: str, **ctx: Any) -> None:
            html = env.get_template(template).render(**common, **ctx)
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(html, encoding="utf-8")
            report.pages.append(out / rel)

        ref_ds = ref.dataset
        pan_groups = index_groups([e for e in entries if task_of(e.doc) != "semantic"], cols, ref, tmp, ref_ds)
        render("index.html", "index.html", root="", page="index", matrix=matrix_context(entries, cols),
               groups=pan_groups + semantic_groups(entries, cols),
               reference_tables=ref.tables, reference_label=ref.label, reference_source=ref.source, reference_dataset=ref_ds,
               data_links=[{"href": "data/leaderboard.csv", "label": "leaderboard.csv"},
                           {"href": "data/leaderboard.json", "label": "leaderboard.json"}])
        for e in entries:
            if task_of(e.doc) == "semantic":
                render("model_semantic.html", f"models/{e.slug}.html", **semantic_model_page(e, entries, cols, tmp))
            else:
                render("model.html", f"models/{e.slug}.html", root="../", page="model", reference_label=ref.label,
                       model_datasets=model_datasets(e, entries, cols), **model_context(e, cols, ref, tmp))
        for ds in dataset_pages(entries, cols, pan_groups):
            render("dataset.html", f"datasets/{ds['slug']}.html", root="../", page="dataset", ds=ds)
        render("taxonomy.html", "taxonomy.html", root="", page="taxonomy", **taxonomy_context(pols, unavailable, entries, cols))
        if pols is None:
            report.notes.append(unavailable)
        report.data_files = [out / p.relative_to(tmp) for p in write_data_files(entries, tmp, ref, pols)]
        (tmp / SITE_MARKER).write_text(json.dumps({
            "generator": f"ovbench {__version__}",
            "results": [str(e.path) for e in entries],
            "pages": [str(p.relative_to(out)) for p in report.pages],
        }, indent=1) + "\n", encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp makes it private; a site is meant to be served
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


__all__ = ["BuildError", "BuildReport", "ConfigError", "build_site", "collect_results", "metric_cell"]
