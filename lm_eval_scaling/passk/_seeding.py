"""Independent random streams derived from one seed (pure, no state)."""

from __future__ import annotations

import numpy as np

__all__ = ["child_seed"]


def child_seed(seed: int | np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """Stream ``index`` of ``seed``: the same for the same ``(seed, index)`` however many
    streams were taken before (unlike ``SeedSequence.spawn``)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, index))
