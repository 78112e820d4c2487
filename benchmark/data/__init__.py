"""Datasets: COCO-panoptic-format readers, category tables, the synthetic generator."""
