"""Peer distributions: where an enterprise's feature value stands among its peers, online.

A peer percentile compares an enterprise with the *current* values of its peers, a cross
section. Streaming quantile sketches (River's ``stats.Quantile``, ``sketch.Histogram``)
cannot forget a value, so fed with every update they estimate the distribution of all past
updates — weighted towards enterprises that send many events (daily e-invoices) and lagging
behind growth. :class:`PeerDistribution` instead holds one current value per member and
replaces it on each update, which keeps it exact for the members it holds.

Percentiles are read from the peers *as they stood at the last close*, not from the live
values: the index closes every ``close_days`` days of event time (:func:`close_period`,
aligned to a Monday 00:00 in Asia/Shanghai). Within a period every score reads the same
cross-section, whatever order the period's enterprises were learned in, so the scores do
not depend on how a stream is spread over workers: several workers that each learn all
the others' enterprises (``streams.model_feed``) and cross each close together
(``streams.alignment``) score exactly like one. The cost is freshness: a peer's update
counts for the others from the next close on (at most ``close_days`` later).

Memory is bounded twice: each distribution keeps at most ``capacity`` members, chosen as
the ``capacity`` smallest USCC hashes among those seen (a bottom-k sample: uniform, and
independent of the values, so percentiles stay unbiased); and :class:`PeerIndex` tracks at
most ``max_enterprises`` enterprises, forgetting the least recently updated.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from typing import NamedTuple

_MONDAY = 4 * 86_400 - 8 * 3_600  # 1970-01-05 00:00 in Asia/Shanghai, as a Unix time


def close_period(seconds: float, days: int) -> int:
    """The close period an event time (Unix seconds) falls in: periods of ``days`` days from
    a Monday 00:00 in Asia/Shanghai (7: calendar weeks).

    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> at = lambda text: datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    >>> close_period(at("2026-11-29T23:59:59"), 7) + 1 == close_period(at("2026-11-30T00:00:00"), 7)  # Sun → Mon
    True
    >>> close_period(at("2026-11-30T00:00:00"), 7) == close_period(at("2026-12-06T23:59:59"), 7)
    True
    """
    return int((seconds - _MONDAY) // (days * 86_400))


def uscc_hash(uscc: str) -> int:
    """A stable 64-bit hash of a USCC (sampling and hold-out splits use it)."""
    return int.from_bytes(hashlib.blake2b(uscc.encode(), digest_size=8).digest(), "big")


def midrank_percentile(below: int, equal: int, n_others: int) -> float:
    """Percentile of a value with ``below``/``equal`` peers under/at it, itself included."""
    return 100.0 * (below + 0.5 * equal + 0.5) / (n_others + 1)


class PeerDistribution:
    """The current feature values of (a bounded sample of) one peer group's members.

    Parameters
    ----------
    capacity
        Most members kept; beyond it the members with the smallest USCC hashes are kept.

    Examples
    --------
    >>> d = PeerDistribution(capacity=100)
    >>> for i, v in enumerate([1.0, 2.0, 3.0]):
    ...     d.update(f"e{i}", {"x": v})
    >>> d.percentile("e9", "x", 2.5)
    62.5
    >>> d.percentile("e1", "x", 2.0)  # e1's own value is not counted twice
    50.0
    """

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.members: dict[str, tuple[int, dict[str, float]]] = {}
        self.hashes: list[tuple[int, str]] = []
        self.values: dict[str, list[float]] = {}

    def __len__(self) -> int:
        return len(self.members)

    def count(self, uscc: str, feature: str) -> int:
        """Peers with a value for ``feature``, not counting ``uscc`` itself."""
        n = len(self.values.get(feature, ()))
        member = self.members.get(uscc)
        return n - 1 if member is not None and feature in member[1] else n

    def percentile(self, uscc: str, feature: str, value: float) -> float:
        """Mid-rank percentile (0–100) of ``value`` among the other members' values."""
        values = self.values.get(feature, [])
        below, upto, n = bisect_left(values, value), bisect_right(values, value), len(values)
        member = self.members.get(uscc)
        if member is not None and (own := member[1].get(feature)) is not None:
            n -= 1
            if own < value:
                below, upto = below - 1, upto - 1
            elif own == value:
                upto -= 1
        return midrank_percentile(below, upto - below, n)

    def update(self, uscc: str, features: dict[str, float], digest: int | None = None) -> None:
        """Make ``features`` the member's current values (admitting it if the sample allows)."""
        member = self.members.get(uscc)
        if member is None:
            digest = uscc_hash(uscc) if digest is None else digest
            if len(self.members) >= self.capacity:
                if digest >= self.hashes[-1][0]:
                    return
                self.remove(self.hashes[-1][1])
            insort(self.hashes, (digest, uscc))
            self.members[uscc] = (digest, dict(features))
            for name, value in features.items():
                insort(self.values.setdefault(name, []), value)
            return
        old = member[1]
        for name, value in features.items():
            previous = old.get(name)
            if previous == value:
                continue
            values = self.values.setdefault(name, [])
            if previous is not None:
                del values[bisect_left(values, previous)]
            insort(values, value)
        for name in [n for n in old if n not in features]:
            values = self.values[name]
            del values[bisect_left(values, old[name])]
        self.members[uscc] = (member[0], dict(features))  # a new dict: a close may hold the old one

    def remove(self, uscc: str) -> None:
        member = self.members.pop(uscc, None)
        if member is None:
            return
        del self.hashes[bisect_left(self.hashes, (member[0], uscc))]
        for name, value in member[1].items():
            values = self.values[name]
            del values[bisect_left(values, value)]


class Closed(NamedTuple):
    """One peer group as it stood at the last close: sorted values, and each member's own."""

    values: dict[str, list[float]]
    members: dict[str, dict[str, float]]


class PeerIndex:
    """Distributions for every peer key, and which keys each enterprise belongs to.

    An enterprise belongs to a hierarchy of keys (e.g. ``"C|small"``, ``"*|small"``,
    ``"*"``); a percentile is read from the most specific key with at least ``min_peers``
    peers having the feature, else from the broadest key.
    """

    def __init__(self, min_peers: int = 30, capacity: int = 4096, max_enterprises: int = 200_000) -> None:
        self.min_peers = min_peers
        self.capacity = capacity
        self.max_enterprises = max_enterprises
        self.groups: dict[str, PeerDistribution] = {}
        self.where: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.closed: dict[str, Closed] = {}

    def close(self) -> None:
        """Make the current values the ones percentiles read, until the next close."""
        self.closed = {
            key: Closed({name: list(values) for name, values in dist.values.items()},
                        {uscc: member[1] for uscc, member in dist.members.items()})
            for key, dist in self.groups.items()
        }  # fmt: skip

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("closed", {})  # a checkpoint from before closes: closes at the next period

    def percentiles(
        self, uscc: str, keys: tuple[str, ...], features: dict[str, float], live: bool = False
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Percentile of every feature, and the key each was read from: among the peers as
        they stood at the last close (``live``: as they stand now)."""
        pcts: dict[str, float] = {}
        used: dict[str, str] = {}
        levels: list[tuple[str, dict[str, list[float]], dict[str, float]]] = []
        for key in keys:
            if live:
                dist = self.groups.get(key)
                if dist is not None:
                    member = dist.members.get(uscc)
                    levels.append((key, dist.values, member[1] if member is not None else {}))
                continue
            closed = self.closed.get(key)
            if closed is not None:
                levels.append((key, closed.values, closed.members.get(uscc, {})))
        need = self.min_peers - 1
        for name, value in features.items():
            chosen = None
            for key, values, own in levels:
                pool = values.get(name)
                if pool and len(pool) - (name in own) >= need:
                    chosen = (key, pool, own.get(name))
                    break
            if chosen is None:
                if not levels:
                    pcts[name], used[name] = 50.0, keys[-1]
                    continue
                key, values, own = levels[-1]
                chosen = (key, values.get(name, []), own.get(name))
            key, pool, mine = chosen
            below, upto, n = bisect_left(pool, value), bisect_right(pool, value), len(pool)
            if mine is not None:
                n -= 1
                if mine < value:
                    below, upto = below - 1, upto - 1
                elif mine == value:
                    upto -= 1
            pcts[name] = midrank_percentile(below, upto - below, n)
            used[name] = key
        return pcts, used

    def learn(self, uscc: str, keys: tuple[str, ...], features: dict[str, float]) -> None:
        """Record the enterprise's current values under ``keys`` (leaving keys it moved away from)."""
        before = self.where.pop(uscc, None)
        if before is not None:
            for key in before:
                if key not in keys and key in self.groups:
                    self.groups[key].remove(uscc)
        self.where[uscc] = keys
        digest = uscc_hash(uscc)
        for key in keys:
            dist = self.groups.get(key)
            if dist is None:
                dist = self.groups[key] = PeerDistribution(self.capacity)
            dist.update(uscc, features, digest)
        while len(self.where) > self.max_enterprises:
            self.forget(next(iter(self.where)))

    def forget(self, uscc: str) -> None:
        """Remove the enterprise from every distribution (it exited, or was least recent)."""
        for key in self.where.pop(uscc, ()):
            if key in self.groups:
                self.groups[key].remove(uscc)
