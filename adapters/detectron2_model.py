"""A detectron2 mask-transformer adapter parameterised by the model's package (FC-CLIP, MAFT+
and their forks share the meta-architecture interface).

Start-up, in order: the config and weights files exist; detectron2 imports; the model's
repository is found (``repo=`` or the importable package) and put on ``sys.path``; open_clip fits
the model's CLIP wrapper (:func:`open_clip_clash`); then the package is imported and the model
built with the repository as the working directory (both models read class lists relative to
it at import time), which is restored afterwards. Any import failure is one ConfigError line.
"""

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
    capture_raw,
    import_model_module,
    import_or_explain,
    load_image_for_detectron2,
    model_repo_root,
    open_clip_clash,
    raw_from_capture,
    sha256_file,
    vocabulary_from_metadata,
    working_directory,
)


class Detectron2MaskTransformer(Adapter):
    """Base for detectron2 meta-architectures. Subclasses set the class attributes."""

    package = ""  # the model's import name, e.g. "fcclip"
    model_module = ""  # module whose forward calls get_classification_logits
    repo_url = ""
    base_info = AdapterInfo(name="", version="1")
    # hand in- / out-of-vocabulary logits to the raw output (FC-CLIP's alpha/beta ensemble sweep)
    pre_ensemble_logits = True

    def __init__(self, config: str, weights: str, repo: str | None = None, device: str = "cuda", opts: str = "") -> None:
        name = self.base_info.name
        paths = {}
        for label, p in (("config", config), ("weights", weights)):
            if not Path(p).expanduser().is_file():
                raise ConfigError(f"{name}: {label} file {p} does not exist (see docs/writing-an-adapter.md)")
            paths[label] = str(Path(p).expanduser().resolve())  # the working directory changes below
        import_or_explain("detectron2", DETECTRON2_HINT)
        root = model_repo_root(repo, self.package, name, self.repo_url)
        clash = open_clip_clash(root, self.package, name)
        if clash:
            raise ConfigError(clash)
        with working_directory(root):
            pkg = import_model_module(self.package, root, name)
            d2_config = import_or_explain("detectron2.config", DETECTRON2_HINT)
            deeplab = import_or_explain("detectron2.projects.deeplab", DETECTRON2_HINT)
            cfg = d2_config.get_cfg()
            deeplab.add_deeplab_config(cfg)
            pkg.add_maskformer2_config(cfg)
            pkg.add_fcclip_config(cfg)
            cfg.merge_from_file(paths["config"])
            if opts:
                cfg.merge_from_list(opts.split())
            cfg.MODEL.WEIGHTS = paths["weights"]
            cfg.MODEL.DEVICE = device
            cfg.freeze()
            self.cfg = cfg
            modeling = import_or_explain("detectron2.modeling", DETECTRON2_HINT)
            checkpoint = import_or_explain("detectron2.checkpoint", DETECTRON2_HINT)
            self.model = modeling.build_model(cfg)
            checkpoint.DetectionCheckpointer(self.model).load(paths["weights"])
            self.model.eval()
            self.module = import_model_module(self.model_module, root, name)
        self.repo_root = root
        self.dataname = cfg.DATASETS.TEST[0]
        self.weights_sha256 = sha256_file(Path(paths["weights"]))
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
            checkpoint_sha256=self.weights_sha256,
            notes=" ".join(filter(None, [f"detectron2 config DATASETS.TEST={self.dataname}.", b.notes])),
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
        return raw_from_capture(store, sample.image_id, orig, input_hw, int(cfg.MODEL.MASK_FORMER.SIZE_DIVISIBILITY), self.category_ids, self.base_info.name,
                                pre_ensemble_logits=self.pre_ensemble_logits)

    def close(self) -> None:
        self.model = None
