"""FC-CLIP (Yu et al., NeurIPS 2023) through its detectron2 meta-architecture.

``--adapter fcclip --adapter-arg repo=/path/to/fc-clip
  --adapter-arg config=/path/to/fc-clip/configs/coco/panoptic-segmentation/fcclip/fcclip_convnext_large_eval_ade20k.yaml
  --adapter-arg weights=/path/to/fcclip_cocopan.pth [--adapter-arg device=cuda]``

Raw outputs: the last decoder layer's 250 mask logits, the final class posteriors after the
geometric ensemble (alpha 0.4 / beta 0.8) with the void probability, and the pre-ensemble in-
and out-of-vocabulary logits (for ensemble sweeps).
"""

from ..base import AdapterInfo
from ..detectron2_model import Detectron2MaskTransformer


class FCCLIPAdapter(Detectron2MaskTransformer):
    package = "fcclip"
    model_module = "fcclip.fcclip"
    repo_url = "https://github.com/bytedance/fc-clip"
    base_info = AdapterInfo(
        name="fcclip", version="1", display_name="FC-CLIP (ConvNeXt-L)", paper="https://arxiv.org/abs/2308.02487",
        code="https://github.com/bytedance/fc-clip", release_date="2023-08-04",
    )
