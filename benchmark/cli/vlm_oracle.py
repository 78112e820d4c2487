"""`ovbench vlm-oracle`: Zero-shot VLM segmentation oracle (Table 1) with an open_clip model.

Parsing only at import time: torch and open_clip are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from ..errors import ConfigError
from ..workers import default_workers

DESCRIPTION = """\
Zero-shot VLM segmentation oracle (paper Table 1): every ground-truth segment (class-agnostic
mask) is mask-pooled over dense vision-language features (MaskCLIP for ViTs, the MAP-head value
path for SigLIP 2, per-location head for ConvNeXt) and gets the class whose text embedding is most
similar; then panoptic PQ (all / things / stuff / seen / unseen).

Weights are never downloaded: pass --checkpoint (a weights file, or a local-dir folder with
open_clip_config.json) or --pretrained TAG with a pre-filled Hugging Face cache. See
docs/vlm-oracle.md.
"""

EPILOG = """\
examples:
  ovbench vlm-oracle --model convnext_large_d_320 --pretrained laion2b_s29b_b131k_ft_soup \\
      --checkpoint ckpt/open_clip_pytorch_model.bin --dataset ade20k_panoptic_val \\
      --dataset-root datasets --resolution short800 --out runs/vlm/convnext_l_short800
  ovbench vlm-oracle --model ViT-B-16-SigLIP2-512 --checkpoint local-dir:ckpt/siglip2-b16-512 \\
      --resolution long640 --prompts policy --out runs/vlm/siglip2_b512_long640_policy
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vlm-oracle", help="Zero-shot VLM segmentation oracle (Table 1) with an open_clip model.",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("model")
    g.add_argument("--model", required=True, help="open_clip model name (ViT-B-16, ViT-L-14, ViT-B-16-SigLIP2-256/-384/-512, "
                                                  "ViT-L-16-SigLIP2-256/-384/-512, convnext_base_w, convnext_large_d_320, ...)")
    g.add_argument("--pretrained", metavar="TAG", help="open_clip pretrained tag (openai, laion2b_s34b_b88k, webli, ...): "
                                                       "sets pixel normalisation; loads weights from the HF cache if no --checkpoint")
    g.add_argument("--checkpoint", metavar="PATH", help="weights file for open_clip.create_model(NAME, pretrained=PATH), "
                                                        "or a folder / local-dir:FOLDER with open_clip_config.json + weights")
    g.add_argument("--model-config", metavar="JSON", action="append", default=[],
                   help="register an extra open_clip model config (file or folder); repeatable")
    g.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    g.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"), help="model precision (default fp32)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    g.add_argument("--hf-cache-dir", metavar="DIR", help="Hugging Face cache holding --pretrained weights (default $HF_HOME)")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="ade20k_panoptic_val", help="catalog name or a COCO-panoptic JSON path (default ade20k_panoptic_val)")
    d.add_argument("--dataset-root", metavar="DIR", help="dataset root (catalog layout), or the image folder for a JSON path")
    d.add_argument("--limit", type=int, metavar="N", help="only the first N images (smoke runs)")
    n = default_workers()
    d.add_argument("--workers", type=int, default=n,
                   help="worker processes that decode, resize and load the ground truth while the model runs; "
                        f"0 = in the main process (default: every CPU this process may use, {n} here)")
    o = p.add_argument_group("oracle")
    o.add_argument("--resolution", default="long512", choices=("long512", "long640", "short800"),
                   help="input protocol: longer side 512 / 640, or shorter side 800 capped at 1333 (default long512)")
    o.add_argument("--prompts", default="synonyms", choices=("names", "synonyms", "policy"),
                   help="class names only, FC-CLIP synonyms (default), or policy-aware phrases for conflict classes")
    o.add_argument("--templates", default="vild14", metavar="SET",
                   help="prompt templates: vild14 (FC-CLIP's 14, paper, default; alias fcclip14), single "
                        "('a photo of a {}.'), or N = the first N of the 14; fewer templates embed the prompts "
                        "N times faster (part of the text-cache key and recorded in results.json)")
    o.add_argument("--pooling", default="area", choices=("area", "bilinear"),
                   help="mask pooling: area-weighted (default) or FC-CLIP's bilinear-resize-then-threshold")
    o.add_argument("--convnext-head", default="project_pool", choices=("project_pool", "pool_project"),
                   help="ConvNeXt: head per location then pool (paper, default) or pool then head (FC-CLIP)")
    o.add_argument("--pad", default="multiple", choices=("multiple", "square"),
                   help="pad the input to a multiple of the stride (default) or to an LxL square (long protocols)")
    o.add_argument("--seen-protocol", default="fcclip_string",
                   choices=("fcclip_string", "graph_same", "graph_covered", "graph_any"),
                   help="seen/unseen classes: FC-CLIP's synonym rule (paper, default) or a taxonomy-graph protocol")
    o.add_argument("--merge-stuff", action="store_true", help="merge same-class stuff predictions into one segment")
    r = p.add_argument_group("output")
    r.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, per_class.csv, shards/)")
    r.add_argument("--cache-dir", metavar="DIR", help="ovbench cache for text embeddings (default $OVBENCH_CACHE or ~/.cache/ovbench)")
    r.add_argument("--no-text-cache", action="store_true", help="recompute text embeddings, do not write the cache")
    r.add_argument("--no-resume", action="store_true", help="ignore existing per-image shards")
    r.add_argument("--quiet", action="store_true", help="no progress bars and no status lines (results still printed)")
    r.add_argument("--no-progress", dest="quiet", action="store_true", help=argparse.SUPPRESS)  # deprecated alias
    p.set_defaults(func=run)


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def run(args: argparse.Namespace) -> int:
    from ..vlm.loading import require_clip

    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit must be >= 0")
    if args.workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {args.workers}")
    from ..vlm.prompts import resolve_templates

    template_set, templates = resolve_templates(args.templates)
    require_clip()  # one line naming the [clip] extra instead of an ImportError traceback
    from ..vlm.dataset_access import (
        categories_with_synonyms,
        dataset_summary,
        open_dataset,
        seen_ids,
        taxonomy_section,
    )
    from ..vlm.dense import make_dense_encoder
    from ..vlm.loading import VLMSpec, load_tokenizer, load_vlm, register_model_config
    from ..vlm.pipeline import OracleConfig, VLMOracle
    from ..vlm.prompts import build_prompt_set
    from ..vlm.report import build_results, describe_model, format_summary
    from ..vlm.run import SHARD_VERSION, run_oracle
    from ..vlm.text import build_text_classifier

    quiet = bool(args.quiet)

    def log(msg: str) -> None:
        if not quiet:
            print(f"vlm-oracle: {msg}", file=sys.stderr, flush=True)

    for cfg in args.model_config:
        register_model_config(cfg)
    dataset = open_dataset(args.dataset, args.dataset_root)
    categories, list_name = categories_with_synonyms(dataset.categories)
    seen, protocol, tax_sha = seen_ids(categories, list_name, args.seen_protocol)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = _device(args.device)
    spec = VLMSpec(args.model, args.pretrained, args.checkpoint, device, args.precision, args.hf_cache_dir)
    log(f"loading {args.model} on {device}")
    loaded = load_vlm(spec)
    config = OracleConfig(args.resolution, args.pad, args.pooling, args.convnext_head, args.prompts, args.merge_stuff)
    encoder = make_dense_encoder(loaded.model, convnext_order=config.convnext_order)
    prompt_set = build_prompt_set(categories, config.prompts, class_list=list_name or False, templates=templates)
    text = build_text_classifier(
        loaded.model, None, prompt_set, model_name=f"{args.model}|{args.precision}", weights_id=loaded.weights_sha256,
        cache_dir=args.cache_dir, use_cache=not args.no_text_cache, device=device, get_tokenizer=lambda: load_tokenizer(loaded),
        progress=not quiet, log=log,
    )
    oracle = VLMOracle(loaded.model, encoder, text, categories, config, mean=loaded.mean, std=loaded.std, device=device)

    inference = {
        **config.to_dict(), **encoder.describe(),
        "protocol": oracle.protocol.title,
        "size_divisibility": encoder.stride,
        "resize": "PIL bilinear on uint8, detectron2 rounding int(x + 0.5)",
        "pixel_mean": list(loaded.mean), "pixel_std": list(loaded.std), "normalisation_source": loaded.preprocess_source,
        "templates": template_set, "num_templates": len(prompt_set.templates),
        "num_phrases": len(prompt_set.phrases()), "prompt_sources": prompt_set.sources(),
        "prompt_fingerprint": prompt_set.fingerprint(), "class_list": list_name,
        "text_aggregation": "normalise, mean over templates, normalise, max over phrases",
        "precision": args.precision, "device": device,
    }
    fingerprint = hashlib.sha256(json.dumps({
        "shard_version": SHARD_VERSION, "model": args.model, "weights": loaded.weights_id,
        "annotation_sha256": getattr(dataset, "annotation_sha256", None), "inference": inference,
    }, sort_keys=True).encode()).hexdigest()
    log(f"{args.resolution} {args.prompts}/{template_set}, {args.workers} worker processes")
    totals = run_oracle(oracle, dataset, out_dir=args.out, fingerprint=fingerprint, limit=args.limit,
                        resume=not args.no_resume, progress=not quiet, workers=args.workers)

    model_info = describe_model(args.model, args.pretrained, loaded.weights_sha256, notes=f"weights: {loaded.weights_source}")
    taxonomy = taxonomy_section(list_name, seen, protocol, tax_sha)
    results, rows, per_image = build_results(
        model=model_info, dataset=dataset_summary(dataset, totals.num_images), categories=categories, totals=totals,
        seen=seen, taxonomy=taxonomy, inference=inference,
        suite_config={**config.to_dict(), "seen_protocol": protocol, "prompt_sources": prompt_set.sources(),
                      "templates": template_set},
    )
    results["diagnostics"]["vlm_segmentation"].update({
        "images_per_second": ((totals.num_images - totals.num_resumed) / totals.seconds
                              if totals.seconds > 0 and totals.num_images > totals.num_resumed else None),
        "text_cache_hit": text.cache_hit,
    })
    if getattr(dataset, "task", "panoptic") == "semantic":  # regions: mIoU, no PQ (docs/semantics.md)
        from ..vlm.semantic import semantic_vlm_results

        ids = dataset.image_ids()[: totals.num_images]
        results, rows = semantic_vlm_results(results, rows, dataset, categories, seen, Path(args.out), ids)
    from ..results.io import write_results

    path = write_results(Path(args.out), results, rows, per_image)
    print(f"vlm-oracle {args.model} {args.resolution} {args.prompts}: {totals.num_images} images", file=sys.stderr)
    print(format_summary(results))
    print(f"wrote {path}")
    return 0
