"""The label-taxonomy graph: class lists, COCO <-> ADE20K relations, seen/unseen, harmonisation."""

from .classes import load_class_list

__all__ = ["load_class_list"]
