"""The optional numba import shared by the compiled kernels (the ``fast`` extra).

``njit`` is numba's decorator, or None without numba or with ``OVBENCH_NO_NUMBA=1`` (which
forces the numpy paths, e.g. to compare them); ``HAVE_NUMBA`` says which.
"""

from __future__ import annotations

import os
from typing import Any

njit: Any
try:  # pragma: no cover - depends on the environment
    if os.environ.get("OVBENCH_NO_NUMBA"):
        raise ImportError("disabled by OVBENCH_NO_NUMBA")
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None

HAVE_NUMBA = njit is not None
