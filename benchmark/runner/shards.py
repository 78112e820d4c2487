"""Per-image shard files: one JSON per evaluated image, written atomically (temporary file +
rename), so a killed run loses at most the images in flight and resumes where it stopped. Each
shard carries its image id and the run spec hash; reading checks both."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..errors import ConfigError

SHARD_DIR = "shards"


class ShardStore:
    """Folder of per-image shards, each tagged with the run spec's hash."""

    def __init__(self, out_dir: str | Path, spec_hash: str) -> None:
        self.dir = Path(out_dir) / SHARD_DIR  # created by the first write
        self.spec_hash = spec_hash

    def path(self, image_id: str) -> Path:
        return self.dir / (quote(image_id, safe="") + ".json")

    def write(self, image_id: str, record: dict[str, Any]) -> Path:
        from ..atomic import write_text_atomic

        return write_text_atomic(self.path(image_id), json.dumps(
            {"spec_hash": self.spec_hash, **record, "image_id": image_id}, separators=(",", ":")))

    def completed(self) -> set[str]:
        """Image ids with a finished shard (temporary files of killed writers are ignored)."""
        return {unquote(p.name[: -len(".json")]) for p in self.dir.glob("*.json") if not p.name.startswith(".")}

    def read(self, image_id: str) -> dict[str, Any]:
        path = self.path(image_id)
        try:
            with open(path) as f:
                rec = json.load(f)
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"shard {path} is unreadable ({exc}); delete it and re-run to recompute that image") from exc
        if rec.get("spec_hash") != self.spec_hash:
            raise ConfigError(
                f"shard {path} was written by a different run spec (model, dataset, suite or settings changed); "
                "use a fresh --out folder, or --no-resume to discard the old shards"
            )
        if rec.get("image_id") != image_id:
            raise ConfigError(f"shard {path} holds image {rec.get('image_id')!r}, not {image_id!r} (a shard file was"
                              " renamed or copied); delete it and re-run to recompute that image")
        return rec

    def read_many(self, image_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
        for i in image_ids:
            yield self.read(i)

    def clear(self) -> None:
        for p in self.dir.glob("*.json"):
            p.unlink()
        from ..atomic import remove_leftovers

        remove_leftovers(self.dir)
