"""Replay raw outputs saved by ``ovbench dump`` (or by your own code, in the documented
format of :mod:`ovbench.raw.store`), so a model can run on any machine and be evaluated here."""

from __future__ import annotations

from pathlib import Path

from ovbench.data.categories import CategorySet
from ovbench.data.dataset import Sample
from ovbench.errors import BadRawOutput
from ovbench.inference.mask2former import InferenceConfig
from ovbench.raw.record import RawOutput
from ovbench.raw.store import read_manifest, read_raw

from ..base import Adapter, AdapterInfo


class DumpAdapter(Adapter):
    """``--adapter dump --adapter-arg path=DIR``: reads ``DIR/<image id>.npz`` per image."""

    parallel_safe = True

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        a = dict(self.manifest.get("adapter", {}))
        inf = a.get("inference") or {}
        self._info = AdapterInfo(
            name="dump",
            version="1",
            kind=str(a.get("kind", "mask_transformer")),
            num_queries=int(a.get("num_queries", 0)),
            inference=InferenceConfig(**{k: float(v) for k, v in inf.items()}),
            display_name=str(a.get("display_name") or a.get("name") or "dump"),
            paper=str(a.get("paper", "")),
            code=str(a.get("code", "")),
            release_date=str(a.get("release_date", "")),
            training_data=str(a.get("training_data", "coco_panoptic_train2017")),
            backbone=str(a.get("backbone", "")),
            checkpoint_sha256=a.get("checkpoint_sha256"),
            notes=f"replayed from a raw-output dump ({self.manifest.get('dtype')}) of adapter {a.get('name')!r}",
        )

    @property
    def info(self) -> AdapterInfo:
        return self._info

    def setup(self, categories: CategorySet) -> None:
        ids = [int(i) for i in self.manifest.get("category_ids", [])]
        if ids and set(ids) != {int(i) for i in categories.ids}:
            raise BadRawOutput(f"dump {self.path}: its vocabulary ({len(ids)} classes) differs from the dataset's ({len(categories)} classes)")

    def predict(self, sample: Sample) -> RawOutput:
        raw = read_raw(self.path, sample.image_id)
        size = (sample.height, sample.width)
        if tuple(raw.geometry.orig_size) != size:
            raise BadRawOutput(f"dump {self.path}: the file of image {sample.image_id!r} records image size"
                               f" {raw.geometry.orig_size[0]}x{raw.geometry.orig_size[1]} (h x w) but the dataset's image is"
                               f" {size[0]}x{size[1]}: it holds another image's outputs")
        return raw
