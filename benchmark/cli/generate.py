"""`ovbench generate`: a synthetic dataset in the real on-disk layout of any catalog dataset."""

from __future__ import annotations

import argparse
import time

DESCRIPTION = """\
Write a synthetic panoptic dataset in exactly the on-disk layout of the real one, so that every
tool that reads ADE20K / COCO panoptic (detectron2, panopticapi, ovbench) reads it too:

  --layout ade20k  DIR/ADEChallengeData2016/ade20k_panoptic_val.json
                   DIR/ADEChallengeData2016/ade20k_panoptic_val/ADE_val_*.png
                   DIR/ADEChallengeData2016/images/validation/ADE_val_*.jpg
  --layout coco    DIR/coco/annotations/panoptic_val2017.json
                   DIR/coco/panoptic_val2017/*.png, DIR/coco/val2017/*.jpg

  --dataset NAME   any dataset of `ovbench ls datasets` in its own layout, e.g.
                   cityscapes_panoptic_val        DIR/cityscapes/gtFine/cityscapes_panoptic_val{.json,/}
                   mapillary_vistas_panoptic_val  DIR/mapillary_vistas/validation/panoptic/panoptic_2018.json
                   ade20k_full_sem_seg_val        DIR/ADE20K_2021_17_01/annotations_detectron2/validation/*.tif
                   pascal_ctx_459_sem_seg_val     DIR/pascal_ctx_d2/annotations_ctx459/validation/*.tif
                   pascal_ctx_59_sem_seg_val      DIR/pascal_ctx_d2/annotations_ctx59/validation/*.png
                   pascal_voc_20_sem_seg_val      DIR/pascal_voc_d2/annotations_pascal20/validation/*.png
                   pascal_voc_21_sem_seg_val      DIR/pascal_voc_d2/annotations_pascal21/validation/*.png
                   (--dataset ade20k_panoptic_val / coco_panoptic_val = --layout ade20k / coco)

Categories are the shipped class lists (taxonomies/). Output is deterministic in --seed.
ADE20K scale: --images 2000 (the defaults are 512x683 images with 10-40 segments).
--scenes builds bedrooms, living rooms and streets from the paper's conflict classes
(pillow/cushion, painting, lamp/light, signboard, street lamp, pole) for `ovbench demo`.
--predictions also writes a prediction with realistic errors (DIR/predictions.json + folder),
ready for `ovbench pq`.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="Generate a synthetic panoptic dataset in the ADE20K / COCO layout.",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="output folder (the datasets root)")
    p.add_argument("--images", type=int, default=16, help="number of images (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--layout", choices=["ade20k", "coco"], default="ade20k", help="on-disk layout and class list")
    p.add_argument("--dataset", default=None, metavar="NAME",
                   help="write this catalog dataset in its real layout (see `ovbench ls datasets`); overrides --layout")
    p.add_argument("--height", type=int, default=512, help="image height in pixels (default 512)")
    p.add_argument("--width", type=int, default=683, help="image width in pixels (default 683)")
    p.add_argument("--min-segments", type=int, default=10, help="segments per image, at least (default 10)")
    p.add_argument("--max-segments", type=int, default=40, help="segments per image, at most (default 40)")
    p.add_argument("--scenes", action="store_true", help="bedroom / living room / street scenes (ADE20K only)")
    p.add_argument("--crowd-fraction", type=float, default=None,
                   help="share of thing instances marked iscrowd (default 0.05 for coco, 0 for ade20k)")
    p.add_argument("--void-fraction", type=float, default=0.02, help="approximate share of VOID pixels (default 0.02)")
    p.add_argument("--png-areas", action="store_true",
                   help="JSON stuff areas = PNG pixel counts (default for ade20k: counted before things, as the real data)")
    p.add_argument("--no-images", action="store_true", help="skip the RGB JPEGs (PQ benchmarks only need the PNGs)")
    p.add_argument("--predictions", action="store_true", help="also write a prediction with realistic errors")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPUs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.synthetic import generate_dataset, generate_predictions

    t0 = time.perf_counter()
    if getattr(args, "dataset", None):
        return _run_named(args, t0)
    json_path = generate_dataset(
        args.out, args.images, args.seed, layout=args.layout, height=args.height, width=args.width,
        min_segments=args.min_segments, max_segments=args.max_segments, scenes=args.scenes,
        crowd_fraction=args.crowd_fraction, void_fraction=args.void_fraction,
        stuff_area="png" if args.png_areas else None, write_images=not args.no_images, workers=args.workers,
    )
    print(f"wrote {args.images} images: {json_path} ({time.perf_counter() - t0:.1f} s)")
    if args.predictions:
        from pathlib import Path

        pred = generate_predictions(json_path, Path(args.out) / "predictions.json", seed=args.seed, workers=args.workers)
        print(f"wrote predictions: {pred} + {pred.with_suffix('')}/")
    return 0


def _run_named(args: argparse.Namespace, t0: float) -> int:
    from pathlib import Path

    from ..data.catalog import DATASETS
    from ..data.synthetic import generate_predictions
    from ..data.synthetic_suite import generate_named
    from ..errors import ConfigError

    layout = DATASETS.get(args.dataset)
    if args.predictions and layout.task != "panoptic":
        raise ConfigError(f"--predictions writes a COCO-panoptic prediction; {args.dataset} is a semantic dataset")
    extra: dict[str, object] = {}
    if args.scenes:
        extra["scenes"] = True
    if args.png_areas:
        extra["stuff_area"] = "png"
    path = generate_named(
        args.dataset, args.out, args.images, args.seed, height=args.height, width=args.width,
        min_segments=args.min_segments, max_segments=args.max_segments, void_fraction=args.void_fraction,
        crowd_fraction=args.crowd_fraction, write_images=not args.no_images, workers=args.workers, **extra,
    )
    print(f"wrote {args.images} images of {args.dataset} ({layout.task}): {path} ({time.perf_counter() - t0:.1f} s)")
    if args.predictions:
        pred = generate_predictions(path, Path(args.out) / "predictions.json", seed=args.seed, workers=args.workers)
        print(f"wrote predictions: {pred} + {pred.with_suffix('')}/")
    return 0
