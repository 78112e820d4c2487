"""The zero-shot VLM segmentation oracle (paper Section 4.1, Fig. 3, Table 1).

Ground-truth segments are mask-pooled over dense vision-language features of an open_clip model
and classified by cosine similarity with class-name text embeddings; the result is scored with
panoptic PQ. One job per module (torch and open_clip are imported only where needed, never at
``import ovbench.vlm``):

* :mod:`~ovbench.vlm.protocols`  resolution protocols long512 / long640 / short800, padding (no torch)
* :mod:`~ovbench.vlm.prompts`    VILD templates x names / synonyms / policy phrases (no torch)
* :mod:`~ovbench.vlm.policy_prompts`  sourced policy phrases for ADE20K conflict classes (no torch)
* :mod:`~ovbench.vlm.loading`    open_clip model + tokenizer from local weights only
* :mod:`~ovbench.vlm.dense`      MaskCLIP (ViT), MAP value path (SigLIP 2), per-location head (ConvNeXt)
* :mod:`~ovbench.vlm.pooling`    eq. 3 mask pooling: area-weighted (default) or FC-CLIP bilinear
* :mod:`~ovbench.vlm.text`       text classifier (template mean, max over synonyms), disk cache
* :mod:`~ovbench.vlm.oracle`     pure functions: GT segments -> predicted panoptic map (no torch)
* :mod:`~ovbench.vlm.prepare`    CPU side of an image in DataLoader workers (decode, resize, weights)
* :mod:`~ovbench.vlm.pipeline`   one image: launch (features -> pooling -> scores) -> finish (PQ counts)
* :mod:`~ovbench.vlm.run`        dataset loop: workers, one image ahead on the device, resumable shards
* :mod:`~ovbench.vlm.dataset_access`  dataset, synonyms and seen/unseen classes for a run
* :mod:`~ovbench.vlm.report`     the results file (oracle key ``vlm_segmentation``)
* :mod:`~ovbench.vlm.tiny`       tiny random open_clip configs for tests and benchmarks

Command line: ``ovbench vlm-oracle`` (:mod:`ovbench.cli.vlm_oracle`); documentation:
``docs/vlm-oracle.md``.
"""
