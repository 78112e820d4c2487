"""`ovbench generate`: a synthetic panoptic dataset in the ADE20K / COCO panoptic layout."""

from __future__ import annotations

import argparse
import time

from .common import add_workers_arg

DESCRIPTION = """\
Write a synthetic panoptic dataset in exactly the on-disk layout of the real one, so that every
tool that reads ADE20K / COCO panoptic (detectron2, panopticapi, ovbench) reads it too:

  --layout ade20k  DIR/ADEChallengeData2016/ade20k_panoptic_val.json
                   DIR/ADEChallengeData2016/ade20k_panoptic_val/ADE_val_*.png
                   DIR/ADEChallengeData2016/images/validation/ADE_val_*.jpg
  --layout coco    DIR/coco/annotations/panoptic_val2017.json
                   DIR/coco/panoptic_val2017/*.png, DIR/coco/val2017/*.jpg

Categories are the shipped ADE20K-150 / COCO-133 class lists. Output is deterministic in --seed.
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
    add_workers_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.synthetic import generate_dataset, generate_predictions

    t0 = time.perf_counter()
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
