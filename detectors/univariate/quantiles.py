"""Rolling quantiles over a fixed-size window, and a robust excess built on them.

A sorted copy of the window is kept next to the arrival order, so inserting and evicting
cost a binary search and a short memory move, and any quantile is read in O(1).
"""

from __future__ import annotations

import bisect
from collections import deque

__all__ = ["SortedWindow"]


class SortedWindow:
    """The last ``size`` values, readable as quantiles (linear interpolation, like numpy).

    Examples
    --------
    >>> w = SortedWindow(4)
    >>> for v in (5.0, 1.0, 3.0, 2.0, 4.0):
    ...     w.add(v)
    >>> len(w), w.quantile(0.5), w.quantile(1.0)
    (4, 2.5, 4.0)
    >>> round(w.excess(6.0, 0.75), 3)
    4.667
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def add(self, value: float) -> None:
        """Append ``value``, evicting the oldest value when the window is full."""
        if len(self._order) == self.size:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._order.append(value)
        bisect.insort(self._sorted, value)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 <= q <= 1) of the window; 0.0 when it is empty."""
        data = self._sorted
        if not data:
            return 0.0
        pos = q * (len(data) - 1)
        lo = int(pos)
        if lo + 1 >= len(data):
            return data[-1]
        return data[lo] + (data[lo + 1] - data[lo]) * (pos - lo)

    def excess(self, value: float, q: float, floor: float = 0.0) -> float:
        """``(value - median) / (quantile(q) - median)``, at least 0; spread floored."""
        median = self.quantile(0.5)
        spread = max(self.quantile(q) - median, floor)
        if spread <= 0.0:
            return 0.0
        return max(0.0, (value - median) / spread)
