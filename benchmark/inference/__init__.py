"""Mask2Former-style inference shared by every oracle: mask resizing, panoptic and semantic inference."""
