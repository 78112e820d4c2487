"""Which dataset a results file belongs to, decided by its annotation hash, never by its name.

A results file records ``dataset.name`` (the catalog name it was run under) and
``dataset.annotation_sha256`` (the sha256 of the annotation JSON it read). Anyone can write
"ade20k_panoptic_val" over 8 synthetic images; only the hash says what was evaluated. The
published hashes live in ``leaderboard/standards.yaml`` (``datasets.<name>.annotation_sha256``
for the official val set, ``variants`` for other accepted annotation files, each with a label).

* hash = a dataset's published hash  -> ranked under that dataset (``official``): the only case
  that may be drawn next to the paper's numbers;
* hash = a listed variant's hash     -> ranked under the variant's own label;
* any other hash (including every hash while a dataset's published hash is still unknown)
  -> its own group, labelled "unverified annotations (sha256 abc123…)", whatever the name says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetIdentity:
    """What the leaderboard ranks a results file under.

    key: group key (one ranked table per key and suite); label: the heading shown;
    dataset: the standard dataset name when the hash is published (official or variant), else None;
    official: the hash is the published hash of a real val set; claimed: ``dataset.name`` of the file.
    """

    key: str
    label: str
    dataset: str | None
    official: bool
    claimed: str
    annotation_sha256: str

    @property
    def note(self) -> str | None:
        """Why the heading differs from the name the file records (None when it does not)."""
        if self.official:
            return None
        if self.dataset is None:
            return (f"The results file names its dataset {self.claimed!r}, but its annotation sha256 is not a published hash"
                    " in the leaderboard's standards.yaml: these numbers are not ranked as that dataset.")
        return f"An accepted variant of {self.dataset!r} (its own annotations), never ranked with the official set."


def published_hashes(datasets: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str, bool]]:
    """sha256 -> (dataset name, label, official) for every published annotation hash in `datasets`."""
    table: dict[str, tuple[str, str, bool]] = {}
    for name, std in datasets.items():
        sha = std.get("annotation_sha256")
        if sha:
            table[str(sha)] = (name, name, True)
        for v in std.get("variants") or []:
            vsha = v.get("annotation_sha256")
            if vsha and str(vsha) not in table:
                table[str(vsha)] = (name, str(v.get("label") or f"{name} variant"), False)
    return table


def identify(doc: Mapping[str, Any], datasets: Mapping[str, Mapping[str, Any]]) -> DatasetIdentity:
    """The :class:`DatasetIdentity` of a results document under the standards' `datasets`."""
    ds = doc["dataset"]
    sha, claimed = str(ds["annotation_sha256"]), str(ds["name"])
    hit = published_hashes(datasets).get(sha)
    if hit is None:
        return DatasetIdentity(f"unverified:{sha}", f"unverified annotations (sha256 {sha[:12]}…)", None, False, claimed, sha)
    name, label, official = hit
    return DatasetIdentity(name if official else f"{name}:{sha}", label, name, official, claimed, sha)
