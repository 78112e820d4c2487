"""ovbench: oracle analysis of open-vocabulary panoptic segmentation.

Data flow (one folder per step):
dataset (``ovbench.data``) -> adapter (``ovbench.adapters``) -> raw outputs (``ovbench.raw``)
-> oracles (``ovbench.inference``, ``ovbench.oracles``) -> accumulators (``ovbench.metrics``)
-> results file (``ovbench.results``) -> leaderboard (``ovbench.leaderboard``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
