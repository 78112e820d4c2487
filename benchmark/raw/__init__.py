"""Raw outputs: the per-image record an adapter returns from one forward pass, and its storage."""

from .record import MaskGeometry, RawOutput, validate_raw_output

__all__ = ["MaskGeometry", "RawOutput", "validate_raw_output"]
