"""A detectron2 mask-transformer adapter parameterised by the model's package (FC-CLIP, MAFT+
and their forks share the meta-architecture interface)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ovbench.data.categories import CategorySet
from ovbench.data.dataset import Sample
from ovbench.errors import BadRawOutput, ConfigError
from ovbench.inference.mask2former import InferenceConfig
from ovbench.raw.record import RawOutput

from .base import Adapter, AdapterInfo
from .detectron2_common import (
    DETECTRON2_HINT,
    add_repo_to_path,
    capture_raw,
    import_or_explain,
    load_image_for_detectron2,
    raw_from_capture,
    sha256_file,
    vocabulary_from_metadata,
)


class Detectron2MaskTransformer(Adapter):
    """Base for detectron2 meta-architectures. Subclasses set the class attributes."""

    package = ""  # the model's import name, e.g. "fcclip"
    model_module = ""  # module whose forward calls get_classification_logits
    repo_url = ""
    base_info = AdapterInfo(name="", version="1")

    def __init__(self, config: str, weights: str, repo: str | None = None, device: str = "cuda", opts: str = "") -> None:
        for label, p in (("config", config), ("weights", weights)):
            if not Path(p).is_file():
                raise ConfigError(f"{self.base_info.name}: {label} file {p} does not exist (see docs/writing-an-adapter.md)")
        add_repo_to_path(repo, self.package)
        import_or_explain("detectron2", DETECTRON2_HINT)
        pkg = import_or_explain(self.package, f"clone {self.repo_url} and pass --adapter-arg repo=/path/to/it")
        d2_config = import_or_explain("detectron2.config", DETECTRON2_HINT)
        deeplab = import_or_explain("detectron2.projects.deeplab", DETECTRON2_HINT)
        cfg = d2_config.get_cfg()
        deeplab.add_deeplab_config(cfg)
        pkg.add_maskformer2_config(cfg)
        pkg.add_fcclip_config(cfg)
        cfg.merge_from_file(config)
        if opts:
            cfg.merge_from_list(opts.split())
        cfg.MODEL.WEIGHTS = weights
        cfg.MODEL.DEVICE = device
        cfg.freeze()
        self.cfg = cfg
        modeling = import_or_explain("detectron2.modeling", DETECTRON2_HINT)
        checkpoint = import_or_explain("detectron2.checkpoint", DETECTRON2_HINT)
        self.model = modeling.build_model(cfg)
        checkpoint.DetectionCheckpointer(self.model).load(weights)
        self.model.eval()
        self.module = import_or_explain(self.model_module, f"{self.package} changed its layout?")
        self.dataname = cfg.DATASETS.TEST[0]
        self.weights_sha256 = sha256_file(Path(weights))
        self.category_ids: Any = None

    @property
    def info(self) -> AdapterInfo:
        mf = self.cfg.MODEL.MASK_FORMER
        b = self.base_info
        return AdapterInfo(
            name=b.name, version=b.version, kind="mask_transformer", num_queries=int(mf.NUM_OBJECT_QUERIES),
            inference=InferenceConfig(float(mf.TEST.OBJECT_MASK_THRESHOLD), float(mf.TEST.OVERLAP_THRESHOLD), 1e-8),
            display_name=b.display_name, paper=b.paper, code=b.code, release_date=b.release_date,
            training_data=b.training_data, backbone=str(self.cfg.MODEL.FC_CLIP.CLIP_MODEL_NAME),
            checkpoint_sha256=self.weights_sha256, notes=f"detectron2 config DATASETS.TEST={self.dataname}",
        )

    def setup(self, categories: CategorySet) -> None:
        meta = import_or_explain("detectron2.data", DETECTRON2_HINT).MetadataCatalog.get(self.dataname)
        self.category_ids = vocabulary_from_metadata(meta, categories, self.base_info.name)

    def predict(self, sample: Sample) -> RawOutput:
        import torch

        cfg = self.cfg
        image, orig, input_hw = load_image_for_detectron2(sample.image_path, cfg.INPUT.FORMAT, cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)
        if orig != (sample.height, sample.width):
            raise BadRawOutput(f"adapter {self.base_info.name!r}, image {sample.image_id!r}: image is {orig}, annotation says {(sample.height, sample.width)}")
        inputs = [{"image": image, "height": orig[0], "width": orig[1], "file_name": str(sample.image_path), "meta": {"dataname": self.dataname}}]
        with torch.no_grad(), capture_raw(self.model, self.module) as store:
            self.model(inputs)
        return raw_from_capture(store, sample.image_id, orig, input_hw, int(cfg.MODEL.MASK_FORMER.SIZE_DIVISIBILITY), self.category_ids, self.base_info.name)

    def close(self) -> None:
        self.model = None
