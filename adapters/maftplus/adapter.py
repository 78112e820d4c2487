"""MAFT+ (Jiao et al., ECCV 2024) through its detectron2 meta-architecture.

``--adapter maftplus --adapter-arg repo=/path/to/MAFT-Plus --adapter-arg config=/path/to/MAFT-Plus/configs/panoptic/eval.yaml
  --adapter-arg weights=/path/to/maftp_l_pano.pth [--adapter-arg device=cuda]``

MAFT+ classifies with the fine-tuned CLIP only (content-dependent transfer of the text
classifier); the void probability comes from the decoder. Its public panoptic config uses 100
queries, object threshold 0.2 and overlap threshold 0.7, which this adapter reads from the config.

No alpha/beta ensemble sweep: FC-CLIP's sweep mixes the in-vocabulary classifier into the CLIP
posteriors, but MAFT+'s eval branch does not use its in-vocabulary classes at all ("in_vocab is not
used", ``maft/maft_plus.py``; the decoder head gives only the void probability), so no (alpha,
beta) is a setting of MAFT+ and FC-CLIP's defaults (0.4, 0.8) are not its own. Its posteriors are
the alpha = beta = 1 corner of that grid. The raw outputs therefore carry no pre-ensemble logits,
and the results' ``sweeps.ensemble`` section counts the images as ``images_without_logits``.
"""

from ..base import AdapterInfo
from ..detectron2_model import Detectron2MaskTransformer


class MAFTPlusAdapter(Detectron2MaskTransformer):
    package = "maft"
    model_module = "maft.maft_plus"
    repo_url = "https://github.com/jiaosiyu1999/MAFT-Plus"
    pre_ensemble_logits = False  # CLIP posteriors alone: no alpha/beta ensemble to sweep (module docstring)
    base_info = AdapterInfo(
        name="maftplus", version="1", display_name="MAFT+ (ConvNeXt-L)", paper="https://arxiv.org/abs/2408.00744",
        code="https://github.com/jiaosiyu1999/MAFT-Plus", release_date="2024-08-01",
        notes="No alpha/beta ensemble sweep: MAFT+ classifies with CLIP posteriors alone (in-vocabulary classes unused).",
    )
