"""Nearest-neighbour distance of the latest window of values to a bank of past windows.

The KNN-CAD idea (Burnaev & Ishimtsev, 2016), written from its description: embed the last
``dim`` values as a vector, keep a ring of the embeddings seen before (skipping the most
recent ones, which overlap the current window), and measure how far the current vector is
from its nearest stored neighbour. A repeated pattern (daily cycle, plateau, regular
spikes) finds a close neighbour; a new shape does not.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["NeighbourBank"]


class NeighbourBank:
    """Fixed-size ring of past embeddings answering nearest-neighbour distances.

    Parameters
    ----------
    dim
        Values per embedding (the window length).
    size
        Embeddings kept; memory is ``size * dim`` floats.
    gap
        The most recent embeddings not yet searchable (they overlap the query).

    Examples
    --------
    >>> bank = NeighbourBank(dim=2, size=10, gap=0)
    >>> bank.add(np.array([0.0, 0.0]))
    >>> bank.add(np.array([3.0, 4.0]))
    >>> round(bank.distance(np.array([3.0, 3.0])), 4)
    0.7071
    """

    def __init__(self, dim: int = 8, size: int = 1500, gap: int = 8) -> None:
        self.dim = dim
        self.size = size
        self.gap = gap
        self._bank: npt.NDArray[np.float64] = np.zeros((size, dim))
        self._norms: npt.NDArray[np.float64] = np.zeros(size)
        # Values are stored relative to the first one seen, which keeps the expanded form of
        # the squared distance below free of cancellation on series far from zero.
        self._origin: float | None = None
        self._filled = 0
        self._head = 0
        self._pending: deque[npt.NDArray[np.float64]] = deque()

    def __getstate__(self) -> dict[str, Any]:
        # The worker pickles its models every batch: plain bytes pickle several times faster
        # than arrays (and exactly: float64 in, float64 out).
        state = self.__dict__.copy()
        state["_bank"] = self._bank.tobytes()
        state["_norms"] = self._norms.tobytes()
        state["_pending"] = [vector.tobytes() for vector in self._pending]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state["_bank"], bytes):  # checkpoints from before hold the arrays themselves
            state["_bank"] = np.frombuffer(state["_bank"]).reshape(state["size"], state["dim"]).copy()
            state["_norms"] = np.frombuffer(state["_norms"]).copy()
            state["_pending"] = deque(np.frombuffer(vector).copy() for vector in state["_pending"])
        self.__dict__.update(state)

    @property
    def filled(self) -> int:
        """Embeddings searchable now."""
        return self._filled

    def distance(self, vector: npt.NDArray[np.float64]) -> float:
        """Euclidean distance (per dimension, RMS) from ``vector`` to its nearest neighbour."""
        if self._filled == 0 or self._origin is None:
            return 0.0
        # |b - v|^2 = |b|^2 - 2 b.v + |v|^2: one matrix-vector product instead of a difference
        # (the factor 2 goes on the query, exactly, rather than on every product).
        query = vector - self._origin
        squared = self._norms[: self._filled] - self._bank[: self._filled] @ (2.0 * query)
        best = max(float(squared.min()) + float(query @ query), 0.0)
        return (best / self.dim) ** 0.5

    def add(self, vector: npt.NDArray[np.float64]) -> None:
        """Queue ``vector``; it becomes searchable after ``gap`` further additions."""
        if self._origin is None:
            self._origin = float(vector[0])
        self._pending.append(vector - self._origin)
        if len(self._pending) > self.gap:
            stored = self._pending.popleft()
            self._bank[self._head] = stored
            self._norms[self._head] = float(stored @ stored)
            self._head = (self._head + 1) % self.size
            self._filled = min(self._filled + 1, self.size)
