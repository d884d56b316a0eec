"""Streaming univariate anomaly detectors (River-style, pure, bounded memory).

Contract of every detector exported here:

* ``score_one(x) -> float`` then ``learn_one(x)`` per event; ``x`` is a dict holding one
  numeric feature (any name; the single value is taken), or nothing when the value is
  missing (scored 0.0, not learnt). Scoring never changes state.
* Scores lie in ``[0, 1]``, higher is more anomalous, and are comparable across series (one
  threshold serves every stream); a detector still warming up returns ``0.0``.
* Memory is bounded by the hyperparameters (fixed-size rings and arrays, nothing grows
  with the stream); hyperparameters are stored under their ``__init__`` names and heavy
  state is built on the first ``learn_one``, so detectors pickle and ``clone()``.
* ``explain()`` returns the components behind the last score.

:class:`StreamingDetector` is the one benchmarked on NAB (``python -m bench.nab``); the
building blocks are exported for reuse.
"""

from detectors.univariate.extremes import RangeExceedance
from detectors.univariate.neighbours import NeighbourBank
from detectors.univariate.quantiles import SortedWindow
from detectors.univariate.streaming import StreamingDetector

__all__ = ["NeighbourBank", "RangeExceedance", "SortedWindow", "StreamingDetector"]
