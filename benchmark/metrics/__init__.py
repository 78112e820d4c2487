"""Metrics: per-image matching (panopticapi semantics), mergeable accumulators, splits, CIs."""
