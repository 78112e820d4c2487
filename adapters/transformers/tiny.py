"""Tiny random Mask2Former / OneFormer folders for tests, benchmarks and smoke runs (no download).

``save_tiny_model(folder, id2label, kind)`` builds the real ``transformers`` model class from a
small config (Swin backbone, 1-2 layers, width 32), random weights from a seeded generator, and
saves it with ``save_pretrained`` next to its processor: the same files a hub checkpoint has.
OneFormer's processor needs a CLIP tokenizer for its task token; a 54-token byte-pair vocabulary
(letters only, no merges) is written for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def save_tiny_model(folder: str | Path, id2label: Mapping[int, str], kind: str = "mask2former", *, seed: int = 0,
                    num_queries: int = 12, shortest_edge: int = 96, longest_edge: int = 160,
                    class_logit_scale: float = 1.0) -> Path:
    """Write a random `kind` ("mask2former" | "oneformer") model + processor to `folder`.

    class_logit_scale multiplies the class head (weights and bias): a large value makes the model
    "confident" (softmax scores of exactly 1.0 in float32), which tests use to compare inference
    rules that weight areas by the score with rules that do not."""
    import torch
    import transformers as tf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    labels = {int(k): str(v) for k, v in id2label.items()}
    backbone = tf.SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4, image_size=64,
                             out_features=["stage1", "stage2", "stage3", "stage4"])  # type: ignore[call-arg]
    common: dict[str, Any] = dict(backbone_config=backbone, hidden_dim=32, encoder_feedforward_dim=64, encoder_layers=1, decoder_layers=2,
                  num_attention_heads=2, dim_feedforward=64, num_queries=num_queries, id2label=labels,
                  label2id={v: k for k, v in labels.items()})
    size = {"shortest_edge": shortest_edge, "longest_edge": longest_edge}
    torch.manual_seed(seed)
    model: Any
    processor: Any
    if kind == "mask2former":
        model = tf.Mask2FormerForUniversalSegmentation(tf.Mask2FormerConfig(feature_size=32, mask_feature_size=32, **common))
        processor = tf.Mask2FormerImageProcessor(size=size)
    elif kind == "oneformer":
        n_ctx, seq = 4, 16
        config = tf.OneFormerConfig(conv_dim=32, mask_dim=32, text_encoder_width=32, text_encoder_num_layers=1,
                                    text_encoder_vocab_size=64, text_encoder_context_length=seq, task_seq_len=seq,
                                    text_encoder_n_ctx=n_ctx, **common)
        model = tf.OneFormerForUniversalSegmentation(config)
        vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
        for c in "abcdefghijklmnopqrstuvwxyz":
            vocab[c] = len(vocab)
            vocab[c + "</w>"] = len(vocab)
        (folder / "vocab.json").write_text(json.dumps(vocab))
        (folder / "merges.txt").write_text("#version: 0.2\n")
        tokenizer = tf.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
        image_processor = tf.OneFormerImageProcessor(size=size, num_text=num_queries - n_ctx)
        processor = tf.OneFormerProcessor(image_processor=image_processor, tokenizer=tokenizer, max_seq_length=seq,
                                          task_seq_length=seq)
    else:
        raise ValueError(f"kind must be mask2former or oneformer, got {kind!r}")
    if class_logit_scale != 1.0:
        head = model.class_predictor if kind == "mask2former" else model.model.transformer_module.decoder.class_embed
        with torch.no_grad():
            head.weight.mul_(class_logit_scale)
            head.bias.mul_(class_logit_scale)
    model.eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
