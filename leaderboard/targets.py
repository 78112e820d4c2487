"""The leaderboard across targets: the index's model x dataset matrix, one page per dataset, the
"all datasets of this model" section of model pages, and the model page of a semantic target.

Panoptic targets are ranked by PQ, semantic-only targets (``dataset.task == "semantic"``) by mIoU;
each matrix cell shows the baseline and the oracle upper bounds of the same results file. A
dataset is keyed by its name AND annotation hash (:func:`dataset_key`): two copies of a dataset
(e.g. a synthetic set under the real name) are two columns, never one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from .config import Columns, metric_cell

#: the oracle upper bounds shown under the baseline in each matrix cell (waterfall order)
UPPER_BOUNDS = ("oracle_cls", "select_no_void", "select_no_void_seg", "select_no_void_cls")
#: ranked columns of a semantic dataset's table: (oracle, split)
SEMANTIC_COLUMNS = (("semantic_inference", "all"), ("semantic_inference", "seen"), ("semantic_inference", "unseen"),
                    ("baseline", "all"), ("oracle_cls", "all"), ("select", "all"), ("select_no_void", "all"),
                    ("select_no_void_seg", "all"), ("select_no_void_cls", "all"), ("vlm_segmentation", "all"))


def task_of(doc: Mapping[str, Any]) -> str:
    return str(doc["dataset"].get("task", "panoptic"))


def metric_of(doc: Mapping[str, Any]) -> str:
    """The metric a target is ranked by: "pq" (panoptic) or "miou" (semantic)."""
    return "miou" if task_of(doc) == "semantic" else "pq"


def oracle_value(doc: Mapping[str, Any], oracle: str, split: str = "all") -> float | None:
    """PQ (panoptic) or mIoU (semantic) of one oracle and split; None if absent or undefined."""
    o = doc["oracles"].get(oracle)
    if o is None:
        return None
    if task_of(doc) == "semantic":
        return (o.get("miou_splits") or {}).get(split, {}).get("miou")
    return (o.get("splits") or {}).get(split, {}).get("pq")


def headline_oracle(doc: Mapping[str, Any]) -> str:
    """The baseline a target is ranked by: Mask2Former semantic inference on semantic targets
    (the published protocol) when the file has it, else the model's own inference."""
    if task_of(doc) == "semantic" and "semantic_inference" in doc["oracles"]:
        return "semantic_inference"
    return "baseline" if "baseline" in doc["oracles"] else next(iter(doc["oracles"]))


def dataset_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    return (doc["dataset"]["name"], doc["dataset"]["annotation_sha256"])


def dataset_slug(key: tuple[str, str]) -> str:
    name, sha = key
    return re.sub(r"[^a-z0-9_-]+", "-", f"{name}-{sha[:8]}".lower()).strip("-")


def dataset_labels(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The dataset's name, qualified by its annotation hash when one name has several hashes."""
    per_name: dict[str, int] = defaultdict(int)
    for name, _ in keys:
        per_name[name] += 1
    return {k: k[0] if per_name[k[0]] == 1 else f"{k[0]} ({k[1][:8]})" for k in keys}


def _cell(columns: Columns, doc: Mapping[str, Any], page: str) -> dict[str, Any]:
    metric = metric_of(doc)
    head = headline_oracle(doc)
    bounds = []
    for key in UPPER_BOUNDS:
        v = oracle_value(doc, key)
        if v is not None:
            bounds.append({"label": str(columns.oracles.get(key, {}).get("short", key)), "text": columns.format(metric, v),
                           "title": str(columns.oracles.get(key, {}).get("display", key))})
    value = oracle_value(doc, head)
    return {"value": value, "text": columns.format(metric, value), "metric": columns.metric(metric)["display"],
            "oracle": str(columns.oracles.get(head, {}).get("display", head)), "bounds": bounds, "page": page,
            "in_domain": bool(doc["taxonomy"].get("in_domain"))}


def matrix_context(entries: Sequence[Any], columns: Columns) -> dict[str, Any]:
    """Rows: models (by display name); columns: datasets (name + annotation hash); cells: the
    ranking metric of the baseline with the oracle upper bounds below it, linking to the model page.
    Several results files of one model on one dataset (other suites) are listed in one cell."""
    keys = sorted({dataset_key(e.doc) for e in entries}, key=lambda k: (task_of_key(entries, k) != "panoptic", k))
    labels = dataset_labels(keys)
    cols = []
    for k in keys:
        docs = [e.doc for e in entries if dataset_key(e.doc) == k]
        task = task_of(docs[0])
        cols.append({"key": k, "label": labels[k], "task": task, "metric": columns.metric("miou" if task == "semantic" else "pq")["display"],
                     "page": f"datasets/{dataset_slug(k)}.html", "in_domain": any(d["taxonomy"].get("in_domain") for d in docs),
                     "sha": k[1]})
    models: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    kinds: dict[str, str] = {}
    for e in entries:
        name = e.doc["model"]["name"]
        kinds[name] = e.doc["model"]["kind"]
        models[name][dataset_key(e.doc)].append(_cell(columns, e.doc, f"models/{e.slug}.html"))
    rows = [{"name": name, "kind": kinds[name], "cells": [models[name].get(c["key"], []) for c in cols]}
            for name in sorted(models)]
    return {"columns": cols, "rows": rows}


def task_of_key(entries: Sequence[Any], key: tuple[str, str]) -> str:
    return next(task_of(e.doc) for e in entries if dataset_key(e.doc) == key)


def semantic_group(key: tuple[str, str], members: Sequence[Any], columns: Columns, label: str, root: str = "") -> dict[str, Any]:
    """A ranked table of a semantic dataset (same shape as the index's PQ groups), by mIoU."""
    members = sorted(members, key=lambda e: (-(oracle_value(e.doc, headline_oracle(e.doc)) or -1.0), e.doc["model"]["name"]))
    present = [(o, s) for o, s in SEMANTIC_COLUMNS if any(oracle_value(e.doc, o, s) is not None or o in e.doc["oracles"] for e in members)]
    cols = [{"label": f"mIoU {columns.split(s)['display']}", "sub": str(columns.oracle(o).get("short", o)),
             "title": f"mIoU ({columns.split(s)['display']}) of {columns.oracle(o)['display']}: {columns.oracle(o)['description']}",
             "group": columns.oracle(o).get("group")} for o, s in present]
    rows = []
    for e in members:
        cells = [metric_cell(columns, "miou", oracle_value(e.doc, o, s)) for o, s in present]
        m = e.doc["model"]
        rows.append({"name": m["name"], "kind": m["kind"], "release_date": m["release_date"], "page": f"{root}models/{e.slug}.html", "cells": cells})
    d = members[0].doc
    ident = getattr(members[0], "ident", None)  # the hash-derived identity (leaderboard/datasets.py), when built by build.py
    return {"dataset": label, "verified": bool(ident is not None and ident.official), "annotation_sha256": key[1], "suite": d["suite"]["name"], "suite_version": d["suite"]["version"],
            "suite_sha256": d["suite"]["sha256"], "anchor": f"sem-{dataset_slug(key)}", "columns": cols, "rows": rows,
            "timeline": None, "notes": [], "paper_points": False}


def semantic_groups(entries: Sequence[Any], columns: Columns, root: str = "") -> list[dict[str, Any]]:
    """The ranked mIoU tables of every semantic dataset x suite (page links relative to `root`)."""
    by_key: dict[tuple[tuple[str, str], tuple[str, str, str]], list[Any]] = defaultdict(list)
    for e in entries:
        if task_of(e.doc) == "semantic":
            d = e.doc
            by_key[(dataset_key(d), (d["suite"]["name"], d["suite"]["version"], d["suite"]["sha256"]))].append(e)
    labels = dataset_labels(sorted({dataset_key(e.doc) for e in entries}))
    return [semantic_group(k[0], ms, columns, labels[k[0]], root) for k, ms in sorted(by_key.items())]


def dataset_pages(entries: Sequence[Any], columns: Columns, panoptic_groups: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One page context per dataset: its task, metric, and its ranked table(s).

    `panoptic_groups`: the index's PQ group contexts (built by the builder, which owns them); a
    panoptic dataset's page shows its own groups with links made relative to ``datasets/``.
    Semantic tables come from :func:`semantic_group`.
    """
    import copy

    by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for e in entries:
        by_key[dataset_key(e.doc)].append(e)
    labels = dataset_labels(list(by_key))
    pages = []
    for key, members in sorted(by_key.items()):
        task = task_of(members[0].doc)
        if task == "semantic":
            by_suite: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
            for e in members:
                by_suite[(e.doc["suite"]["name"], e.doc["suite"]["version"], e.doc["suite"]["sha256"])].append(e)
            groups = [semantic_group(key, ms, columns, labels[key], "../") for _, ms in sorted(by_suite.items())]
        else:
            groups = [copy.deepcopy(dict(g)) for g in panoptic_groups if (g["dataset"], g["annotation_sha256"]) == key]
            for g in groups:
                for r in g["rows"]:
                    r["page"] = "../" + r["page"]
                if g.get("timeline"):
                    g["timeline"] = "../" + g["timeline"]
        docs = [e.doc for e in members]
        pages.append({"slug": dataset_slug(key), "label": labels[key], "name": key[0], "annotation_sha256": key[1], "task": task,
                      "metric": columns.metric("miou" if task == "semantic" else "pq")["display"],
                      "in_domain": any(d["taxonomy"].get("in_domain") for d in docs),
                      "num_images": sorted({d["dataset"]["num_images"] for d in docs}),
                      "num_classes": sorted({d["dataset"]["num_classes"] for d in docs}),
                      "taxonomies": sorted({d["taxonomy"]["name"] for d in docs}), "groups": groups})
    return pages


def model_datasets(entry: Any, entries: Sequence[Any], columns: Columns) -> list[dict[str, Any]]:
    """Every results file of the same model (display name): one row per dataset, for the model page."""
    name = entry.doc["model"]["name"]
    same = [e for e in entries if e.doc["model"]["name"] == name]
    labels = dataset_labels(sorted({dataset_key(e.doc) for e in same}))
    rows = []
    for e in sorted(same, key=lambda e: (task_of(e.doc) != "panoptic", dataset_key(e.doc), e.doc["suite"]["name"])):
        c = _cell(columns, e.doc, f"{e.slug}.html")
        rows.append({**c, "dataset": labels[dataset_key(e.doc)], "task": task_of(e.doc), "suite": e.doc["suite"]["name"],
                     "dataset_page": f"../datasets/{dataset_slug(dataset_key(e.doc))}.html", "current": e is entry})
    return rows


def semantic_model_context(d: Mapping[str, Any], columns: Columns) -> dict[str, Any]:
    """Oracle rows (mIoU per split) and per-class rows (IoU, acc, region TP / FN_seg / FN_cls) of a
    semantic target's results file."""
    split_keys = [s for s in ("all", "seen", "unseen", "clean", "conflict")
                  if any(s in (o.get("miou_splits") or {}) for o in d["oracles"].values())]
    oracle_rows = []
    for key in [k for k in columns.oracles if k in d["oracles"]]:
        o, meta = d["oracles"][key], columns.oracle(key)
        cells = [metric_cell(columns, "miou", (o["miou_splits"].get(s) or {}).get("miou")) for s in split_keys]
        cells.append(metric_cell(columns, "n", o["miou_splits"]["all"]["n"]))
        oracle_rows.append({"display": meta["display"], "description": meta["description"],
                            "paper_table": o.get("paper_table") or meta.get("paper_table"), "cells": cells})
    head = headline_oracle(d)
    fn = {r["category_id"]: r for r in d.get("fn_breakdown", []) if r.get("oracle", "baseline") == "baseline"}
    yes = {True: "yes", False: "no", None: "—"}
    class_rows = []
    for r in d.get("per_class_semantic", []):
        if r["oracle"] != head:
            continue
        f = fn.get(r["category_id"], {})
        class_rows.append({"name": r["name"], "category_id": r["category_id"], "seen": yes[r.get("seen")],
                           "conflict": yes[r.get("conflict")], "iou": metric_cell(columns, "iou", r["iou"]),
                           "acc": metric_cell(columns, "acc", r["acc"]), "gt_pixels": r["gt_pixels"],
                           "tp": f.get("tp", "—"), "fn_seg": f.get("fn_seg", "—"), "fn_cls": f.get("fn_cls", "—")})
    harm_names = sorted({n for o in d["oracles"].values() for n in (o.get("miou_harmonised") or {})})
    harmonised = [{"display": columns.oracle(k)["display"],
                   "cells": [metric_cell(columns, "miou", (d["oracles"][k].get("miou_harmonised") or {}).get(n)) for n in harm_names]}
                  for k in columns.oracles if k in d["oracles"]]
    return {"split_headers": [{"label": columns.split(s)["display"], "title": columns.split(s)["description"]} for s in split_keys],
            "harm_names": harm_names, "harmonised": harmonised if harm_names else [],
            "oracle_rows": oracle_rows, "class_rows": class_rows, "per_class_oracle": columns.oracle(head)["display"],
            "has_fn_breakdown": bool(fn)}


def miou_waterfall_view(d: Mapping[str, Any]) -> dict[str, Any]:
    """A semantic results document seen as the waterfall expects it: each oracle's ``splits`` hold
    its mIoU under the key "pq" (drawn with ``metric="mIoU"``; never written anywhere)."""
    return {"oracles": {k: {"splits": {s: {"pq": st["miou"]} for s, st in (o.get("miou_splits") or {}).items()}}
                        for k, o in d["oracles"].items()}}
