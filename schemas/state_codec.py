"""How an enterprise state is kept in the table and its changelog: zstd-compressed JSON.

An :class:`~schemas.state.EnterpriseState` serialises to about 4 KB of JSON (the monthly and
daily series, field provenance, event-id digests); compressed, about half of it. The table
holds one value per enterprise in memory (or RocksDB) and the changelog one per update, so
this is what the worker's memory and disk grow by per enterprise. A value that starts with
``{`` is plain JSON (what tables written before compression hold) and is read as it is.

>>> from schemas.state import EnterpriseState
>>> stored = encode_state(EnterpriseState(uscc="91330110MA2B000011", name="杭州中启"))
>>> stored[:1] != b"{", decode_state(stored).name
(True, '杭州中启')
>>> decode_state(b'{"uscc": "91330110MA2B000011"}').uscc
'91330110MA2B000011'

A :class:`StateCache` keeps the states it decoded or encoded, each beside its table value,
so the next batch takes an enterprise's state as it left it instead of decoding it again.
It hands a state out only while the table still holds those very bytes: a value restored
from the changelog, written by another worker or rebuilt is decoded afresh. The pipeline
never mutates a state it is given (:func:`streams.state_update.apply_event` copies before
writing), so a kept state stays what its bytes say.
"""

from __future__ import annotations

import threading

import zstandard
from cachetools import LRUCache

from schemas.state import EnterpriseState

LEVEL = 1  # compresses 4 KB in ~15 µs; higher levels gain a few percent for several times the time
_local = threading.local()  # zstandard's (de)compressor objects are not to be shared between threads


def _compressor() -> zstandard.ZstdCompressor:
    found: zstandard.ZstdCompressor | None = getattr(_local, "compressor", None)
    if found is None:
        found = _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return found


def _decompressor() -> zstandard.ZstdDecompressor:
    found: zstandard.ZstdDecompressor | None = getattr(_local, "decompressor", None)
    if found is None:
        found = _local.decompressor = zstandard.ZstdDecompressor()
    return found


def encode_state(state: EnterpriseState) -> bytes:
    """The table value of ``state``."""
    return _compressor().compress(state.__pydantic_serializer__.to_json(state))


def state_json(stored: bytes) -> bytes:
    """The JSON of a table value (compressed or, as written before compression, plain)."""
    return stored if stored[:1] == b"{" else _decompressor().decompress(stored)


def decode_state(stored: bytes) -> EnterpriseState:
    """The state a table value holds."""
    return EnterpriseState.model_validate_json(state_json(stored))


class StateCache:
    """The decoded states of the last ``entries`` enterprises used, by table key.

    >>> from schemas.state import EnterpriseState
    >>> cache = StateCache(2)
    >>> stored = cache.encode(b"k", EnterpriseState(uscc="91330110MA2B000011"))
    >>> cache.decode(b"k", stored) is cache.decode(b"k", stored)
    True
    >>> cache.decode(b"k", encode_state(EnterpriseState(uscc="91330110MA2B000011", name="n"))).name
    'n'
    """

    def __init__(self, entries: int) -> None:
        self._kept: LRUCache[bytes, tuple[bytes, EnterpriseState]] | None = (
            LRUCache(maxsize=entries) if entries > 0 else None
        )
        self.hits = 0
        self.misses = 0

    def decode(self, key: bytes, stored: bytes) -> EnterpriseState:
        """The state ``stored`` holds: the kept one if it was kept with these bytes."""
        if self._kept is None:
            return decode_state(stored)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stored:
            self.hits += 1
            return kept[1]
        self.misses += 1
        state = decode_state(stored)
        self._kept[key] = (stored, state)
        return state

    def encode(self, key: bytes, state: EnterpriseState) -> bytes:
        """The table value of ``state``, kept with it."""
        stored = encode_state(state)
        if self._kept is not None:
            self._kept[key] = (stored, state)
        return stored
