"""Policy-aware prompt phrases for ADE20K-150 classes whose labelling policy conflicts with COCO.

Each entry replaces the class's FC-CLIP synonym list in ``--prompts policy`` (every phrase is then
formatted with the 14 VILD templates, as synonyms are). Phrases are noun phrases so that they read
inside templates ("a photo of a bed pillow on a bed."). Keys are ADE20K-150 category ids (0..149).

This table is ovbench's own wording. Each entry names the labelling rule it encodes and where the
rule comes from:

* SP  = the seed paper, "What Holds Back Open-Vocabulary Segmentation?", Section 5 (painting,
  pillow vs cushion, signboard) and Table 5 (light);
* MS  = MSeg ``mseg-dataset/mseg-api:mseg/class_remapping_files/MSeg_master.tsv`` (``Defn`` column:
  pillow "a cushion to support the head of a sleeping person"; floor includes wall-to-wall carpet,
  rug does not; sconce "must be attached to the side of a wall");
* ADE = ADE20K SceneParsing ``objectInfo150`` names ("light, light source", "signboard, sign",
  "painting, picture");
* TA  = ovbench's taxonomy research notes (``docs`` of the taxonomy graph): conflict catalogue
  entries 1, 2, 3, 5-7, 10, 14.

The taxonomy YAML may later carry ``definition`` fields; :mod:`ovbench.vlm.prompts` uses them for
classes that have no entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyPrompt:
    """Prompt phrases for one class, with the rule they encode and its sources."""

    name: str
    phrases: tuple[str, ...]
    rule: str
    sources: tuple[str, ...]


ADE20K_150_POLICY: dict[int, PolicyPrompt] = {
    22: PolicyPrompt(
        "painting, picture",
        ("painting", "picture", "framed painting on a wall", "framed picture on a wall", "wall art"),
        "ADE20K labels paintings and framed pictures as their own thing class; COCO leaves them unlabelled or part of the wall.",
        ("SP §5", "ADE", "TA #1"),
    ),
    57: PolicyPrompt(
        "pillow",
        ("bed pillow", "sleeping pillow on a bed", "pillow at the head of a bed"),
        "ADE20K 'pillow' is a sleeping pillow on a bed; other pillows are 'cushion'. COCO bed pillows are part of the bed.",
        ("SP §5", "MS Defn pillow", "TA #2"),
    ),
    39: PolicyPrompt(
        "cushion",
        ("cushion", "sofa cushion", "throw pillow on a sofa", "seat cushion", "decorative pillow on a chair"),
        "ADE20K 'cushion' covers every pillow that is not a sleeping pillow on a bed (sofa, chair, floor cushions).",
        ("SP §5", "TA #2"),
    ),
    43: PolicyPrompt(
        "signboard, sign",
        ("signboard", "sign", "traffic sign", "road sign", "street sign", "shop sign"),
        "ADE20K 'signboard, sign' includes traffic and street signs; COCO annotates only stop signs.",
        ("SP §5", "ADE", "TA #3"),
    ),
    82: PolicyPrompt(
        "light",
        ("light", "light source", "ceiling light", "spotlight", "light bulb"),
        "ADE20K 'light, light source' is any light fixture that is not a lamp, chandelier, sconce or street lamp; FC-CLIP prompts only bulbs.",
        ("SP Table 5", "ADE", "TA #5-7"),
    ),
    36: PolicyPrompt(
        "lamp",
        ("lamp", "table lamp", "floor lamp", "desk lamp", "bedside lamp"),
        "ADE20K 'lamp' is a free-standing lamp with a shade; COCO folds lamps into its stuff class 'light'.",
        ("TA #5-6", "MS relabel shares"),
    ),
    85: PolicyPrompt(
        "chandelier",
        ("chandelier", "hanging chandelier", "pendant light hanging from the ceiling"),
        "ADE20K 'chandelier' is a hanging multi-arm fixture; COCO folds it into 'light'.",
        ("TA #5-6",),
    ),
    134: PolicyPrompt(
        "sconce",
        ("sconce", "wall lamp", "light fixture attached to a wall"),
        "A sconce is a light attached to the side of a wall.",
        ("MS Defn sconce", "TA #5"),
    ),
    3: PolicyPrompt(
        "floor",
        ("floor", "flooring", "wall-to-wall carpet", "tiled floor", "wooden floor"),
        "Floor includes floor coverings that span a whole room, such as wall-to-wall carpet (COCO calls carpet 'rug').",
        ("MS Defn floor", "TA #14"),
    ),
    28: PolicyPrompt(
        "rug",
        ("rug", "area rug", "floor mat", "doormat"),
        "A rug is a movable mat; wall-to-wall carpet is floor.",
        ("MS Defn rug_floormat", "TA #14"),
    ),
    15: PolicyPrompt(
        "table",
        ("table", "dining table", "side table", "nightstand"),
        "ADE20K 'table' includes nightstands and excludes coffee tables, desks and kitchen islands (separate classes).",
        ("TA #9-10",),
    ),
}
