"""Mask2Former / OneFormer from Hugging Face ``transformers`` (``--adapter transformers``)."""
