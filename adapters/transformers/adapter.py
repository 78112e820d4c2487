"""Hugging Face ``transformers`` mask transformers: Mask2Former and OneFormer
(``Mask2FormerForUniversalSegmentation``, ``OneFormerForUniversalSegmentation``).

``--adapter transformers --adapter-arg model=PATH_OR_HUB_ID [--device auto|cpu|cuda|cuda:N]``

``model`` is a ``save_pretrained`` folder (config.json, weights, preprocessor_config.json) or a hub
id already in the local Hugging Face cache (never downloaded here; ``hf_cache_dir=`` names another
cache). The model's own image processor preprocesses every image (OneFormer's processor adds the
task token "panoptic"); ``id2label`` is mapped onto the dataset's categories by name
(:mod:`.labels`). Raw outputs, batch of one:

* ``class_queries_logits`` [1, N, K+1] (no-object last) -> softmax -> columns reordered to the
  dataset's categories -> ``class_probs`` [N, C+1];
* ``masks_queries_logits`` [1, N, Hp/4, Wp/4] -> ``mask_logits``, covering the processor's whole
  ``pixel_values`` frame (Hp, Wp); ``pixel_mask`` gives the valid (resized, unpadded) part (h, w),
  so ``MaskGeometry((H, W), (h, w), (Hp, Wp))``.

Thresholds: ``object_mask_threshold`` / ``overlap_threshold`` from the model config when it holds
them, else Mask2Former's and OneFormer's published panoptic test values, 0.8 / 0.8.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ovbench.data.categories import CategorySet
from ovbench.data.dataset import Sample
from ovbench.errors import BadRawOutput, ConfigError, MissingDependency
from ovbench.inference.mask2former import InferenceConfig
from ovbench.raw.record import MaskGeometry, RawOutput

from ..base import Adapter, AdapterInfo
from .labels import map_id2label

HF_HINT = "install the hf extra: pip install 'ovbench[hf]' (transformers; torch + torchvision as in [clip])"
ARCHITECTURES = {  # model_type -> (display, paper, release date, needs a task token)
    "mask2former": ("Mask2Former", "https://arxiv.org/abs/2112.01527", "2021-12-02", False),
    "oneformer": ("OneFormer", "https://arxiv.org/abs/2211.06220", "2022-11-10", True),
}
DEFAULT_THRESHOLDS = (0.8, 0.8)  # MODEL.MASK_FORMER.TEST.{OBJECT_MASK,OVERLAP}_THRESHOLD of the panoptic configs
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _import_transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:
        raise MissingDependency(f"the transformers adapter needs transformers ({exc}); {HF_HINT}") from exc
    return transformers


def resolve_model_dir(model: str, hf_cache_dir: str | None = None) -> Path:
    """A local folder for `model`: the folder itself, or the hub id's snapshot in the local cache."""
    p = Path(model).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise ConfigError(f"transformers adapter: {p} has no config.json (is it a save_pretrained folder?)")
        return p
    if p.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ConfigError(f"transformers adapter: model {model!r} is not a save_pretrained folder")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=model, local_files_only=True, cache_dir=hf_cache_dir))
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError, OSError: all mean "not here"
        cache = hf_cache_dir or os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"
        raise ConfigError(
            f"transformers adapter: model {model!r} is neither a folder nor in the local Hugging Face cache ({cache}); "
            f"ovbench never downloads weights: run `hf download {model}` on a machine with network "
            f"(or pass --adapter-arg model=/path/to/save_pretrained/folder) [{type(exc).__name__}]") from exc


def weights_sha256(folder: Path) -> str | None:
    """sha256 of the weights file, or of the sorted ``name sha256`` lines when sharded."""
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
    if not files:
        return None
    digests = []
    for f in files:
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        digests.append((f.name, h.hexdigest()))
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{n} {d}\n" for n, d in digests).encode()).hexdigest()


def geometry_from_inputs(pixel_values_hw: tuple[int, int], pixel_mask: np.ndarray | None, orig: tuple[int, int]) -> MaskGeometry:
    """Original (H, W), valid resized part (h, w) of the processor's frame, whole frame (Hp, Wp).

    pixel_mask: [Hp, Wp], 1 on image pixels, 0 on padding (bottom / right), or None (no padding)."""
    if pixel_mask is None:
        return MaskGeometry(orig, pixel_values_hw, pixel_values_hw)
    m = np.asarray(pixel_mask).astype(bool)
    h, w = int(m.any(axis=1).sum()), int(m.any(axis=0).sum())
    if h == 0 or w == 0 or not m[:h, :w].all():
        raise BadRawOutput("transformers adapter: pixel_mask is not a top-left rectangle (unsupported padding)")
    return MaskGeometry(orig, (h, w), pixel_values_hw)


def class_probs_for_dataset(class_queries_logits: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """[N, K+1] logits (no-object last) -> [N, C+1] softmax posteriors with the class columns
    reordered to the dataset (``columns[c]`` = model class of dataset category c), void last."""
    x = class_queries_logits.astype(np.float64)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.concatenate([p[:, columns], p[:, -1:]], axis=1).astype(np.float32)


class TransformersAdapter(Adapter):
    """Mask2Former / OneFormer from ``transformers`` (see the module docstring)."""

    def __init__(self, model: str, device: str = "auto", hf_cache_dir: str | None = None, label_map: str | None = None,
                 training_data: str | None = None) -> None:
        from ovbench.device import resolve_device

        transformers = _import_transformers()
        transformers.utils.logging.disable_progress_bar()  # one line per run, not a bar per weights file
        self.folder = resolve_model_dir(model, hf_cache_dir)
        # hub id, or the folder's name (results never carry local paths)
        self.model_name = model if not Path(model).expanduser().is_dir() else self.folder.resolve().name
        self.device = resolve_device(device)
        self.label_map = self._read_label_map(label_map)
        try:
            self.config = transformers.AutoConfig.from_pretrained(str(self.folder))
        except Exception as exc:
            raise ConfigError(f"transformers adapter: cannot read {self.folder / 'config.json'} ({_one_line(exc)})") from exc
        mtype = getattr(self.config, "model_type", "")
        if mtype not in ARCHITECTURES:
            raise ConfigError(f"transformers adapter: model {model!r} is a {mtype!r}; supported: {', '.join(ARCHITECTURES)} "
                              "(*ForUniversalSegmentation)")
        self.display, self.paper, self.release_date, self.task_token = ARCHITECTURES[mtype]
        try:
            if self.task_token:  # OneFormer: image processor + tokenizer for the task token
                self.processor = transformers.AutoProcessor.from_pretrained(str(self.folder))
            else:
                self.processor = transformers.AutoImageProcessor.from_pretrained(str(self.folder))
        except Exception as exc:
            raise ConfigError(f"transformers adapter: no usable image processor in {self.folder} "
                              f"(preprocessor_config.json / processor files) ({type(exc).__name__}: {_one_line(exc)})") from exc
        self.model = transformers.AutoModelForUniversalSegmentation.from_pretrained(str(self.folder)).eval().to(self.device)
        self.version = transformers.__version__
        self.architecture = type(self.model).__name__
        self.training_data = training_data if training_data is not None else self._guess_training_data(self.model_name)
        self.sha256 = weights_sha256(self.folder)
        self.columns: np.ndarray | None = None
        self.category_ids = np.zeros(0, dtype=np.int64)

    @staticmethod
    def _read_label_map(path: str | None) -> dict[str, str] | None:
        if not path:
            return None
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"transformers adapter: label_map {path}: {_one_line(exc)}") from exc
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ConfigError(f"transformers adapter: label_map {path} must be a JSON object {{\"model label\": \"dataset name\"}}")
        return data

    @staticmethod
    def _guess_training_data(model: str) -> str:
        m = model.lower()
        if "ade" in m:
            return "ade20k_panoptic_train"
        if "coco" in m:
            return "coco_panoptic_train2017"
        return "unknown"

    @property
    def info(self) -> AdapterInfo:
        c = self.config
        omt = getattr(c, "object_mask_threshold", None)
        ovt = getattr(c, "overlap_threshold", None)
        source = "model config" if omt is not None and ovt is not None else "published panoptic defaults"
        inference = InferenceConfig(float(DEFAULT_THRESHOLDS[0] if omt is None else omt),
                                    float(DEFAULT_THRESHOLDS[1] if ovt is None else ovt), 0.0)
        backbone = getattr(getattr(c, "backbone_config", None), "model_type", "") or str(getattr(c, "backbone", "") or "")
        return AdapterInfo(
            name="transformers", version="1", kind="mask_transformer", num_queries=int(c.num_queries), inference=inference,
            display_name=f"{self.display} ({self.model_name})", paper=self.paper, code="https://github.com/huggingface/transformers",
            release_date=self.release_date, training_data=self.training_data, backbone=backbone, checkpoint_sha256=self.sha256,
            notes=f"transformers {self.version}, {self.architecture}, thresholds: {source}",
        )

    def setup(self, categories: CategorySet) -> None:
        from ovbench.vlm.dataset_access import categories_with_synonyms

        named, _ = categories_with_synonyms(categories)
        self.columns = map_id2label(self.config.id2label, named, self.model_name, self.label_map)
        self.category_ids = np.asarray(categories.ids, dtype=np.int64)

    def predict(self, sample: Sample) -> RawOutput:
        import torch

        if self.columns is None:
            raise ConfigError("transformers adapter: setup(categories) must run before predict")
        image = sample.load_image()
        kwargs: dict[str, Any] = {"task_inputs": ["panoptic"]} if self.task_token else {}
        inputs = self.processor(images=image, return_tensors="pt", **kwargs)
        feed = {k: v.to(self.device) for k, v in inputs.items() if k in ("pixel_values", "pixel_mask", "task_inputs")}
        with torch.no_grad():
            out = self.model(**feed)
        logits = out.class_queries_logits[0].float().cpu().numpy()
        masks = out.masks_queries_logits[0].float().cpu().numpy()
        if logits.shape[1] != len(self.config.id2label) + 1:
            raise BadRawOutput(f"adapter 'transformers', image {sample.image_id!r}: class_queries_logits has {logits.shape[1]} "
                               f"columns, id2label {len(self.config.id2label)} labels + no-object")
        pm = inputs.get("pixel_mask")
        geometry = geometry_from_inputs(tuple(inputs["pixel_values"].shape[-2:]), None if pm is None else pm[0].cpu().numpy(),
                                        image.shape[:2])
        return RawOutput(sample.image_id, np.ascontiguousarray(masks, dtype=np.float32),
                         class_probs_for_dataset(logits, self.columns),
                         self.category_ids, geometry)

    def close(self) -> None:
        self.model = None

