"""The worker's garbage-collection policy: fewer, cheaper cyclic collections.

Reference counting frees almost everything the worker makes. The cyclic collector runs on
top of it whenever the containers allocated outnumber those freed by a threshold (700 by
default), and an older generation's collection walks every object in it. The worker keeps
a large, growing heap of long-lived objects — the decoded states between batches, the
peer index, the exit-risk snapshots, the series detectors — so with the defaults a large
share of its time went to collections that found little: on a park of 20,000 enterprises'
filings, about 40% of the pipeline's CPU time (``python -m bench.pipeline --enterprises 20000
--months 1 --no-daily-invoices``, with ``ENTBRAIN_WORKER__GC_YOUNG_THRESHOLD=0`` and without).

:func:`apply` freezes what is loaded at the start (modules, the models checkpoint) out of
every later collection, and raises the young generation's threshold. Cyclic garbage is
still collected, in fewer and larger collections; the older generations keep Python's
ratios.
"""

from __future__ import annotations

import gc


def apply(young_threshold: int) -> None:
    """Freeze the heap as it is now and collect the young generation every ``young_threshold``
    allocations (0: leave Python's settings alone)."""
    if young_threshold <= 0:
        return
    gc.collect()  # what is garbage already is not frozen with the rest
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
