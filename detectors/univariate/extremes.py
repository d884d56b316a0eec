"""Range exceedance: how far a value falls outside everything seen so far.

The simplest rule that does well on NAB: a value beyond the running minimum or maximum is
surprising in proportion to how far beyond it is, measured in units of the range itself.
Constant memory (two numbers); the range only grows, so a level that has been seen once is
never surprising again.
"""

from __future__ import annotations

import math

__all__ = ["RangeExceedance"]


class RangeExceedance:
    """Running minimum and maximum, and the relative exceedance of a new value.

    Examples
    --------
    >>> r = RangeExceedance()
    >>> for v in (1.0, 3.0, 2.0):
    ...     r.update(v)
    >>> r.excess(4.0), r.excess(2.5), r.excess(0.0)
    (0.5, 0.0, 0.5)
    """

    def __init__(self) -> None:
        self.low = math.inf
        self.high = -math.inf

    @property
    def width(self) -> float:
        """``high - low``, or 1.0 while the range is empty or a single point."""
        width = self.high - self.low
        return width if width > 0.0 and math.isfinite(width) else 1.0

    def excess(self, value: float) -> float:
        """Distance of ``value`` beyond ``[low, high]`` divided by :attr:`width` (0 inside)."""
        if not math.isfinite(self.high):
            return 0.0
        return max(0.0, value - self.high, self.low - value) / self.width

    def update(self, value: float) -> None:
        """Widen the range to include ``value``."""
        self.low = min(self.low, value)
        self.high = max(self.high, value)
