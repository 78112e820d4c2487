"""The label-taxonomy graph: class lists, typed cross-dataset relations with evidence,
annotation-policy notes, seen/unseen protocols, harmonised evaluation taxonomies and
conflict-aware PQ.

    from ovbench.taxonomy import load_graph
    g = load_graph()                       # shipped taxonomies/*.yaml, validated
    g.relations("pillow")                  # typed, evidenced edges of both pillow classes
    g.seen_ids(protocol="fcclip_string")   # FC-CLIP's 64 seen ADE20K-150 classes
    g.harmonisations()["pillow_cushion"]   # merge table applied before PQ

See docs/taxonomy.md.
"""

from .classes import load_class_list
from .conflicts import conflict_aware_summary
from .export import export_graphml, export_json, graph_from_bundle, graph_from_graphml, to_bundle
from .graph import SEEN_PROTOCOLS, TaxonomyGraph, load_graph
from .harmonise import Harmonisation, harmonise_map, harmonised_match
from .model import RELATIONS, Edge, Evidence, Node, Policy, UnlabeledMark
from .seen import fcclip_seen_ids

__all__ = [
    "RELATIONS",
    "SEEN_PROTOCOLS",
    "Edge",
    "Evidence",
    "Harmonisation",
    "Node",
    "Policy",
    "TaxonomyGraph",
    "UnlabeledMark",
    "conflict_aware_summary",
    "export_graphml",
    "export_json",
    "fcclip_seen_ids",
    "graph_from_bundle",
    "graph_from_graphml",
    "harmonise_map",
    "harmonised_match",
    "load_class_list",
    "load_graph",
    "to_bundle",
]
